import type { Decision } from '../decision.js';
import { type AlgorithmLimits, SlotAlgorithm } from './algorithm.js';

/**
 * GCRA, the leaky bucket as a meter: one number per key, the theoretical arrival time (TAT) of the
 * next request. A request costs `cost` emission intervals (`windowDuration / limit`) and passes
 * while the TAT stays within `capacity` intervals of now. Times are whole microseconds (the
 * interval is rounded to one), so the arithmetic is exact, as Redis' `TIME` gives it.
 */
export class Gcra extends SlotAlgorithm {
  readonly kind = 'gcra';
  readonly slots = 2;
  /** Emission interval, µs. */
  readonly #interval: number;
  /** Burst tolerance: how far ahead of now the TAT may run, µs. */
  readonly #tolerance: number;

  constructor(limits: AlgorithmLimits) {
    const interval = Math.max(1, Math.round((limits.windowDuration * 1000) / limits.limit));
    super(limits, Math.ceil((interval * limits.capacity) / 1000));
    this.#interval = interval;
    this.#tolerance = interval * limits.capacity;
  }

  protected evaluate(s: Float64Array, o: number, nowMs: number, cost: number, commit: boolean): Decision {
    const now = Math.round(nowMs * 1000);
    const stored = s[o] as number;
    const tat = Math.max(stored, now);
    const next = tat + cost * this.#interval;
    const allowed = next - now <= this.#tolerance;
    const ahead = (commit && allowed ? next : tat) - now;
    if (commit && allowed) s[o] = next;
    return {
      allowed,
      limit: this.capacity,
      remaining: Math.floor((this.#tolerance - ahead) / this.#interval),
      resetMs: Math.ceil(ahead / 1000),
      retryAfterMs: allowed ? 0 : Math.ceil((next - now - this.#tolerance) / 1000),
    };
  }

  protected shift(s: Float64Array, o: number, nowMs: number, points: number): void {
    const now = Math.round(nowMs * 1000);
    const stored = s[o] as number;
    const tat = Math.max(stored, now) + points * this.#interval;
    s[o] = tat < now ? now : Math.min(tat, now + this.#tolerance);
  }
}
