import type { Decision } from '../decision.js';
import { type AlgorithmLimits, SlotAlgorithm } from './algorithm.js';

/**
 * Fixed window: `limit` units per window, windows aligned on multiples of `windowDuration` since
 * the epoch (so every process and Redis agree on them). State: the window's start and its count.
 * Cheapest, but a key may spend `limit` at the end of one window and again at the start of the next.
 */
export class FixedWindow extends SlotAlgorithm {
  readonly kind = 'fixed-window';
  readonly slots = 3;

  constructor(limits: AlgorithmLimits) {
    super(limits, limits.windowDuration);
  }

  /** Starts the window `now` falls in, if the stored one has ended; returns its start. */
  #roll(s: Float64Array, o: number, now: number): number {
    const start = s[o] as number;
    if (now < start + this.windowDuration) return start;
    const current = now - (now % this.windowDuration);
    s[o] = current;
    s[o + 1] = 0;
    return current;
  }

  protected evaluate(s: Float64Array, o: number, now: number, cost: number, commit: boolean): Decision {
    const start = this.#roll(s, o, now);
    let count = s[o + 1] as number;
    const allowed = count + cost <= this.limit;
    if (commit && allowed) s[o + 1] = count += cost;
    const resetMs = count > 0 ? start + this.windowDuration - now : 0;
    return {
      allowed,
      limit: this.limit,
      remaining: this.limit - count,
      resetMs,
      retryAfterMs: allowed ? 0 : resetMs,
    };
  }

  protected shift(s: Float64Array, o: number, now: number, points: number): void {
    this.#roll(s, o, now);
    const count = (s[o + 1] as number) + points;
    s[o + 1] = count < 0 ? 0 : Math.min(count, this.limit);
  }
}
