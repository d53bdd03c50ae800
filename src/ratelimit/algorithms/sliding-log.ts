import type { Decision } from '../decision.js';
import { type AlgorithmLimits, SlotAlgorithm } from './algorithm.js';

/** Largest `limit` of a sliding log: its state is one timestamp per unit. */
export const SLIDING_LOG_MAX_LIMIT = 1000;

/**
 * Sliding log: the exact sliding window, one timestamp per unit spent in the last
 * `windowDuration` ms, in a ring of `limit` slots after the ring's head and size. Exact, and
 * 8 bytes × `limit` per key: for small limits (at most {@link SLIDING_LOG_MAX_LIMIT}).
 */
export class SlidingLog extends SlotAlgorithm {
  readonly kind = 'sliding-log';
  readonly slots: number;

  constructor(limits: AlgorithmLimits) {
    super(limits, limits.windowDuration);
    this.slots = 3 + limits.limit;
  }

  /** Timestamp of the `i`-th oldest unit. */
  #at(s: Float64Array, o: number, i: number): number {
    return s[o + 2 + (((s[o] as number) + i) % this.limit)] as number;
  }

  /** Forgets the units that left the window; returns how many remain. */
  #prune(s: Float64Array, o: number, now: number): number {
    let head = s[o] as number;
    let size = s[o + 1] as number;
    const limit = this.limit;
    while (size > 0 && (s[o + 2 + head] as number) + this.windowDuration <= now) {
      head = (head + 1) % limit;
      size--;
    }
    s[o] = size === 0 ? 0 : head;
    s[o + 1] = size;
    return size;
  }

  /** Appends `n` units at `now`, dropping the oldest if the ring is full. */
  #push(s: Float64Array, o: number, now: number, n: number): void {
    const limit = this.limit;
    let head = s[o] as number;
    let size = s[o + 1] as number;
    for (let i = 0; i < n; i++) {
      if (size === limit) head = (head + 1) % limit;
      else size++;
      s[o + 2 + ((head + size - 1) % limit)] = now;
    }
    s[o] = head;
    s[o + 1] = size;
  }

  protected evaluate(s: Float64Array, o: number, now: number, cost: number, commit: boolean): Decision {
    let size = this.#prune(s, o, now);
    const limit = this.limit;
    const allowed = size + cost <= limit;
    if (commit && allowed) {
      this.#push(s, o, now, cost);
      size += cost;
    }
    const w = this.windowDuration;
    return {
      allowed,
      limit,
      remaining: limit - size,
      resetMs: size > 0 ? this.#at(s, o, size - 1) + w - now : 0,
      // the unit whose leaving makes room for `cost`
      retryAfterMs: allowed ? 0 : this.#at(s, o, size + cost - limit - 1) + w - now,
    };
  }

  protected shift(s: Float64Array, o: number, now: number, points: number): void {
    const size = this.#prune(s, o, now);
    if (points > 0) this.#push(s, o, now, Math.min(points, this.limit));
    else s[o + 1] = Math.max(0, size + points); // a reward gives back the newest units
  }
}
