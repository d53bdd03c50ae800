/** Stable error codes; each is documented in docs/errors.md and never reused for another meaning. */
export type NinesErrorCode =
  | 'NINES_BREAKER_OPEN'
  | 'NINES_BREAKER_ISOLATED'
  | 'NINES_TIMEOUT'
  | 'NINES_BULKHEAD_FULL'
  | 'NINES_BULKHEAD_QUEUE_TIMEOUT'
  | 'NINES_INVALID_OPTION'
  | 'NINES_SHUTDOWN_STARTED'
  | 'NINES_STORE_UNAVAILABLE'
  | 'NINES_CONDITION_SYNTAX'
  | 'NINES_HTTP_ERROR'
  | 'NINES_RECEIVER_REFUSED'
  | 'NINES_RATE_LIMITED'
  | 'NINES_LOAD_SHED'
  | 'NINES_QUEUE_FULL'
  | 'NINES_QUEUE_CLOSED'
  | 'NINES_QUEUE_WAIT_TIMEOUT'
  | 'NINES_QUEUE_RUN_TIMEOUT'
  | 'NINES_FALLBACK_FAILED'
  | 'NINES_PARTIAL_FAILURE'
  | 'NINES_FLAGS_INVALID'
  | 'NINES_BACKUP_REFUSED'
  | 'NINES_BACKUP_FAILED'
  | 'NINES_BACKUP_CORRUPT'
  | 'NINES_BACKUP_KEY'
  | 'NINES_BACKUP_NOT_FOUND'
  | 'NINES_RESTORE_REFUSED'
  | 'NINES_NO_HEALTHY_UPSTREAM'
  | 'NINES_DISCOVERY_FAILED';

/**
 * The brand every nines error carries on its prototype. `Symbol.for` makes it one symbol in every
 * copy of the package (two versions in one node_modules, a bundled copy), so checks work across them.
 */
const kNinesError = Symbol.for('nines.error');

type Branded = { readonly code: NinesErrorCode };

function branded(value: unknown): value is Branded {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kNinesError] === true;
}

const prototypeCheck = Function.prototype[Symbol.hasInstance];

/**
 * `instanceof` that works across copies of the package (as undici's errors do): a branded error
 * whose prototype chain holds a class of the same name. `NinesError` itself matches every brand.
 */
function instanceOf(ctor: abstract new (...args: never[]) => unknown, value: unknown): boolean {
  if (prototypeCheck.call(ctor, value)) return true; // this copy's own errors: the engine's fast path
  if (!branded(value)) return false;
  if (ctor.name === 'NinesError') return true;
  for (let p = Object.getPrototypeOf(value); p !== null; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, 'constructor') && (p.constructor as { name?: string }).name === ctor.name) return true;
  }
  return false;
}

/** Base of every error nines throws: match on `code`, not on the class or the message. */
export class NinesError extends Error {
  /** Stable machine-readable code. */
  readonly code: NinesErrorCode;

  constructor(code: NinesErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** True for errors of this class from any copy of nines. */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass included
    return instanceOf(this, value);
  }
}
Object.defineProperty(NinesError.prototype, kNinesError, { value: true });

/**
 * A bad option or argument, at construction or call: a programming error, not a runtime condition.
 * A `TypeError` (as Node's own argument errors are) with code `NINES_INVALID_OPTION`; its message
 * starts with the option's name.
 */
export class InvalidOptionError extends TypeError {
  /** Always `NINES_INVALID_OPTION`. */
  readonly code = 'NINES_INVALID_OPTION' as const;

  constructor(message: string) {
    super(message);
    this.name = 'InvalidOptionError';
  }

  /** True for errors of this class from any copy of nines. */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass included
    return instanceOf(this, value);
  }
}
Object.defineProperty(InvalidOptionError.prototype, kNinesError, { value: true });

/** True when `error` is an error of nines (any copy of the package), optionally with the given code. */
export function isNinesError(error: unknown, code?: NinesErrorCode): error is NinesError | InvalidOptionError {
  return branded(error) && (code === undefined || error.code === code);
}
