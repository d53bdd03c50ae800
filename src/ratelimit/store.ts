import type { Clock } from '../core/clock.js';
import type { RateAlgorithm } from './algorithms/algorithm.js';
import type { Decision } from './decision.js';

/** A decision as a store returns it: at once (memory) or as a promise (Redis). */
export type Answer = Decision | Promise<Decision>;

/** What `delete` returns for a store answering `R`: a boolean, or a promise of one. */
export type Deleted<R extends Answer> = R extends Promise<Decision> ? Promise<boolean> : boolean;

/**
 * Where a limiter keeps its keys. Each call runs the algorithm atomically on one key: read the
 * state, apply the transition, write it back. The memory store applies `RateAlgorithm`'s
 * transitions; a Redis store runs one Lua script per `algorithm.kind` with Redis' own time.
 */
export interface RateLimitStore<R extends Answer = Answer> {
  /** True when answers are decisions, false when they are promises. */
  readonly sync: R extends Promise<Decision> ? false : true;
  /** Spends `cost` on `key` if it fits. */
  consume(key: string, cost: number): R;
  /** Spends (`points` > 0) or gives back (< 0) without refusing; answers the key's state after. */
  adjust(key: string, points: number): R;
  /** The key's state, spending nothing; a key never seen reads as fresh. */
  get(key: string): R;
  /** Forgets `key` (its block too); true if it was held. */
  delete(key: string): Deleted<R>;
}

/** What a limiter tells its store when it opens it. */
export interface StoreSpec {
  /** The limiter's name: a Redis store prefixes its keys with it. */
  name: string;
  algorithm: RateAlgorithm;
  /** The limiter's clock (a Redis store takes time from Redis, not from here). */
  clock: Clock;
}

/** Opens a store for one limiter; `memoryStore()` and the Redis store return one. */
export type RateLimitStoreFactory<R extends Answer = Answer> = (spec: StoreSpec) => RateLimitStore<R>;
