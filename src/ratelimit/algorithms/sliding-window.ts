import type { Decision } from '../decision.js';
import { type AlgorithmLimits, SlotAlgorithm } from './algorithm.js';

/**
 * Sliding window, the weighted-counter approximation: the count of the current aligned window plus
 * the previous window's count weighted by how much of it the sliding window still covers. State:
 * the current window's start, its count and the previous count. Compared in integers scaled by
 * `windowDuration`, so a boundary decision is exact. A burst at the end of one window still weighs
 * fully at the start of the next: no double burst at the edge.
 */
export class SlidingWindow extends SlotAlgorithm {
  readonly kind = 'sliding-window';
  readonly slots = 4;

  constructor(limits: AlgorithmLimits) {
    super(limits, 2 * limits.windowDuration);
  }

  /** Moves to the window `now` falls in (the current count becomes the previous one); returns its start. */
  #roll(s: Float64Array, o: number, now: number): number {
    const w = this.windowDuration;
    const start = s[o] as number;
    if (now < start + w) return start;
    s[o + 2] = now < start + 2 * w ? (s[o + 1] as number) : 0;
    s[o + 1] = 0;
    const current = now - (now % w);
    s[o] = current;
    return current;
  }

  protected evaluate(s: Float64Array, o: number, now: number, cost: number, commit: boolean): Decision {
    const w = this.windowDuration;
    const limit = this.limit;
    const start = this.#roll(s, o, now);
    let count = s[o + 1] as number;
    const previous = s[o + 2] as number;
    const weighted = previous * (w - (now - start)); // the previous window's share, scaled by w
    const allowed = weighted + (count + cost) * w <= limit * w;
    if (commit && allowed) s[o + 1] = count += cost;
    const left = Math.floor((limit * w - weighted - count * w) / w);
    return {
      allowed,
      limit,
      remaining: Math.max(left, 0),
      resetMs: count > 0 ? start + 2 * w - now : previous > 0 ? start + w - now : 0,
      retryAfterMs: allowed ? 0 : this.#wait(start, now, count, previous, cost),
    };
  }

  /** ms until `cost` fits: later in this window as the previous one's weight falls, or in the next. */
  #wait(start: number, now: number, count: number, previous: number, cost: number): number {
    const room = this.limit - count - cost;
    if (room >= 0) return start + this.#offset(previous, room) - now;
    return start + this.windowDuration + Math.max(0, this.#offset(count, this.limit - cost)) - now;
  }

  /** First offset in a window where `carried` units of the previous one leave room for `room` more. */
  #offset(carried: number, room: number): number {
    const w = this.windowDuration;
    return w - Math.floor((room * w) / carried); // carried × (w − offset) ≤ room × w
  }

  protected shift(s: Float64Array, o: number, now: number, points: number): void {
    this.#roll(s, o, now);
    const count = (s[o + 1] as number) + points;
    if (count >= 0) {
      s[o + 1] = Math.min(count, this.limit);
      return;
    }
    s[o + 1] = 0; // a reward larger than this window's count gives back from the previous one
    const previous = (s[o + 2] as number) + count;
    s[o + 2] = Math.max(previous, 0);
  }
}
