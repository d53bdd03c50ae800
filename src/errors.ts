/** Stable error codes; each is documented in docs/errors.md and never reused for another meaning. */
export type NinesErrorCode =
  | 'NINES_BREAKER_OPEN'
  | 'NINES_BREAKER_ISOLATED'
  | 'NINES_TIMEOUT'
  | 'NINES_BULKHEAD_FULL'
  | 'NINES_BULKHEAD_QUEUE_TIMEOUT';

/** Base of every error nines throws: match on `code`, not on the class or the message. */
export class NinesError extends Error {
  /** Stable machine-readable code. */
  readonly code: NinesErrorCode;

  constructor(code: NinesErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `error` is a NinesError, optionally with the given code. */
export function isNinesError(error: unknown, code?: NinesErrorCode): error is NinesError {
  return error instanceof NinesError && (code === undefined || error.code === code);
}
