import type { Decision } from '../decision.js';

/** The algorithms a limiter can run; see docs/rate-limiting.md, "Choosing an algorithm". */
export type AlgorithmKind = 'token-bucket' | 'gcra' | 'fixed-window' | 'sliding-window' | 'sliding-log';

/**
 * One algorithm with its limits: data a store can read (a Redis store runs its own Lua twin of the
 * same arithmetic, keyed on `kind` and the numbers), and the transitions a memory store applies.
 *
 * A key's state is a short run of numbers, `slots` of them, at `s[o]`: `s[o]` is the end of a
 * block (0 when none), the rest belongs to the algorithm. All zeros is a fresh key. A transition
 * reads the state and `now`, writes the new state in place and returns the decision: no timers, no
 * allocation but the returned decision, so a store may keep a million keys in one typed array.
 */
export interface RateAlgorithm {
  readonly kind: AlgorithmKind;
  /** Units per `windowDuration`. */
  readonly limit: number;
  /** ms over which `limit` units are allowed. */
  readonly windowDuration: number;
  /** Most units a key can hold (the burst of a bucket, `limit` for a window); a larger cost is refused. */
  readonly capacity: number;
  /** ms a key stays refused after a refusal; 0 for none. */
  readonly blockDuration: number;
  /** ms after its last change that a key's state is certainly fresh again, so a store may forget it. */
  readonly ttl: number;
  /** Numbers of state per key. */
  readonly slots: number;
  /** Spends `cost` (an integer in [1, capacity]) if it fits; refusing may start a block. */
  consume(s: Float64Array, o: number, now: number, cost: number): Decision;
  /** Spends (`points` > 0, a penalty) or gives back (< 0, a reward) without refusing, then reads. */
  adjust(s: Float64Array, o: number, now: number, points: number): Decision;
  /** Reads the key without spending: `allowed` tells whether a request of cost 1 would be. */
  peek(s: Float64Array, o: number, now: number): Decision;
}

/** Limits every algorithm is built from. */
export interface AlgorithmLimits {
  limit: number;
  windowDuration: number;
  capacity: number;
  blockDuration: number;
}

/** The shared part of every algorithm: blocking, and the three entry points around `evaluate`. */
export abstract class SlotAlgorithm implements RateAlgorithm {
  abstract readonly kind: AlgorithmKind;
  readonly limit: number;
  readonly windowDuration: number;
  readonly capacity: number;
  readonly blockDuration: number;
  readonly ttl: number;
  abstract readonly slots: number;

  /** `freshAfter`: ms after its last change that the algorithm's own state is fresh again. */
  constructor(limits: AlgorithmLimits, freshAfter: number) {
    this.limit = limits.limit;
    this.windowDuration = limits.windowDuration;
    this.capacity = limits.capacity;
    this.blockDuration = limits.blockDuration;
    this.ttl = Math.max(freshAfter, limits.blockDuration);
  }

  /**
   * The decision for `cost` on the algorithm's state at `s[o]` (after the block slot); with
   * `commit`, spends it when allowed and writes the state back. Without, `remaining` is what the
   * key holds now.
   */
  protected abstract evaluate(s: Float64Array, o: number, now: number, cost: number, commit: boolean): Decision;

  /** Adds `points` to what the key has spent (negative gives back), clamped between fresh and empty. */
  protected abstract shift(s: Float64Array, o: number, now: number, points: number): void;

  consume(s: Float64Array, o: number, now: number, cost: number): Decision {
    const until = s[o] as number;
    if (now < until) return this.#blocked(s, o, now, cost, until);
    const d = this.evaluate(s, o + 1, now, cost, true);
    if (d.allowed || this.blockDuration === 0) return d;
    s[o] = now + this.blockDuration;
    return refused(d, this.blockDuration);
  }

  adjust(s: Float64Array, o: number, now: number, points: number): Decision {
    this.shift(s, o + 1, now, points);
    return this.peek(s, o, now);
  }

  peek(s: Float64Array, o: number, now: number): Decision {
    const until = s[o] as number;
    if (now < until) return this.#blocked(s, o, now, 1, until);
    return this.evaluate(s, o + 1, now, 1, false);
  }

  #blocked(s: Float64Array, o: number, now: number, cost: number, until: number): Decision {
    return refused(this.evaluate(s, o + 1, now, cost, false), until - now);
  }
}

/** `d` turned into a refusal that lasts at least `ms`. */
function refused(d: Decision, ms: number): Decision {
  return {
    allowed: false,
    limit: d.limit,
    remaining: 0,
    resetMs: Math.max(d.resetMs, ms),
    retryAfterMs: Math.max(d.retryAfterMs, ms),
  };
}
