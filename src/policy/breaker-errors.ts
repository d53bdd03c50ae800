import { NinesError } from '../core/errors.js';

/** Thrown instead of calling the function while a breaker is open, half-open and busy, or isolated. */
export class BrokenCircuitError extends NinesError {
  /** Name of the breaker that rejected the call. */
  readonly breaker: string;
  /** Milliseconds until the breaker will let a probe through; undefined while isolated. */
  readonly retryAfterMs: number | undefined;

  constructor(
    breaker: string,
    retryAfterMs: number | undefined,
    code: 'NINES_BREAKER_OPEN' | 'NINES_BREAKER_ISOLATED' = 'NINES_BREAKER_OPEN',
  ) {
    super(code, `circuit breaker "${breaker}" is ${code === 'NINES_BREAKER_ISOLATED' ? 'isolated' : 'open'}`);
    this.breaker = breaker;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Thrown while a breaker is held open by `isolate()`. */
export class IsolatedCircuitError extends BrokenCircuitError {
  constructor(breaker: string) {
    super(breaker, undefined, 'NINES_BREAKER_ISOLATED');
  }
}
