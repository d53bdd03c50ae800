import type { Decision } from '../../decision.js';

interface Refusal {
  /** Local ms from which a request of `cost` may pass. */
  until: number;
  /** Local ms at which the key is full again. */
  resetAt: number;
  cost: number;
  limit: number;
}

/**
 * Keys Redis refused, held until their retry time so a flood of refused requests is answered here.
 * A cached refusal answers only requests at least as costly as the refused one (a cheaper one may
 * fit sooner). Times are this process' own clock, measured from when the call was sent: a skewed
 * clock shifts both ends alike, and a refusal is never held past Redis' answer. At most `maxKeys`,
 * the oldest dropped first.
 */
export class RejectionCache {
  readonly #held = new Map<string, Refusal>();

  constructor(readonly maxKeys: number) {}

  /** The cached refusal of `key` for `cost` at `now`, if one still holds. */
  get(key: string, cost: number, now: number): Decision | undefined {
    const r = this.#held.get(key);
    if (r === undefined) return undefined;
    if (now >= r.until) {
      this.#held.delete(key);
      return undefined;
    }
    if (cost < r.cost) return undefined;
    const retryAfterMs = r.until - now;
    return { allowed: false, limit: r.limit, remaining: 0, resetMs: Math.max(r.resetAt - now, retryAfterMs), retryAfterMs };
  }

  /** Holds Redis' refusal `d` of `cost`, asked at `sent`. */
  set(key: string, cost: number, d: Decision, sent: number): void {
    if (d.retryAfterMs <= 0) return;
    this.#held.delete(key);
    if (this.#held.size >= this.maxKeys) this.#held.delete(this.#held.keys().next().value as string);
    this.#held.set(key, { until: sent + d.retryAfterMs, resetAt: sent + d.resetMs, cost, limit: d.limit });
  }

  delete(key: string): void {
    this.#held.delete(key);
  }
}
