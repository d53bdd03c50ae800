import { NinesError } from '../core/errors.js';

/** What a limiter answered for one key: a plain object, the same shape whether allowed or not. */
export interface Decision {
  /** True when the request fits and its cost was spent. */
  readonly allowed: boolean;
  /** Most units a key can hold: the burst of a bucket, the limit of a window. */
  readonly limit: number;
  /** Units a request could still spend right now, after this decision. */
  readonly remaining: number;
  /** ms until the key is back to `limit` remaining if nothing more is spent. */
  readonly resetMs: number;
  /** ms until a request of the same cost would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
}

/** Thrown by `consumeOrThrow` when a key is over its limit; the retry policy waits `retryAfterMs`. */
export class RateLimitedError extends NinesError {
  /** Name of the limiter that refused. */
  readonly limiter: string;
  /** ms until a request of the same cost would be allowed. */
  readonly retryAfterMs: number;
  /** The refusing decision. */
  readonly decision: Decision;

  constructor(limiter: string, decision: Decision) {
    super('NINES_RATE_LIMITED', `rate limit "${limiter}" exceeded; retry in ${decision.retryAfterMs} ms`);
    this.limiter = limiter;
    this.retryAfterMs = decision.retryAfterMs;
    this.decision = decision;
  }
}
