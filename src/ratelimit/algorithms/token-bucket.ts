import type { Decision } from '../decision.js';
import { type AlgorithmLimits, SlotAlgorithm } from './algorithm.js';

/**
 * Token bucket: `capacity` tokens, refilled at `limit` per `windowDuration`. State: the tokens
 * missing (scaled by `windowDuration`, so refills are exact integers: `limit` units per ms, a token
 * is `windowDuration` units) and the time of the last change.
 */
export class TokenBucket extends SlotAlgorithm {
  readonly kind = 'token-bucket';
  readonly slots = 3;
  readonly #full: number;

  constructor(limits: AlgorithmLimits) {
    const full = limits.capacity * limits.windowDuration;
    super(limits, Math.ceil(full / limits.limit));
    this.#full = full;
  }

  /** Tokens missing at `now` (scaled): what was missing less what has dripped in since. */
  #missing(s: Float64Array, o: number, now: number): number {
    const elapsed = now - (s[o + 1] as number);
    const missing = (s[o] as number) - (elapsed > 0 ? elapsed * this.limit : 0);
    return Math.max(missing, 0);
  }

  #write(s: Float64Array, o: number, now: number, missing: number): void {
    s[o] = missing;
    if (now > (s[o + 1] as number)) s[o + 1] = now; // a clock that stepped back never adds tokens
  }

  protected evaluate(s: Float64Array, o: number, now: number, cost: number, commit: boolean): Decision {
    const w = this.windowDuration;
    const rate = this.limit;
    let missing = this.#missing(s, o, now);
    const after = missing + cost * w;
    const allowed = after <= this.#full;
    if (commit) {
      if (allowed) missing = after;
      this.#write(s, o, now, missing);
    }
    return {
      allowed,
      limit: this.capacity,
      remaining: Math.floor((this.#full - missing) / w),
      resetMs: Math.ceil(missing / rate),
      retryAfterMs: allowed ? 0 : Math.ceil((after - this.#full) / rate),
    };
  }

  protected shift(s: Float64Array, o: number, now: number, points: number): void {
    const missing = this.#missing(s, o, now) + points * this.windowDuration;
    this.#write(s, o, now, missing < 0 ? 0 : Math.min(missing, this.#full));
  }
}
