import { type Clock, systemClock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { checkString } from '../core/validate.js';
import type { RateAlgorithm } from './algorithms/algorithm.js';
import { type AlgorithmOptions, createAlgorithm } from './algorithms/index.js';
import { type Decision, RateLimitedError } from './decision.js';
import type { LimiterMetrics, RateLimitMetrics } from './metrics-sink.js';
import type { Answer, Deleted, RateLimitStore, RateLimitStoreFactory } from './store.js';
import { memoryStore } from './stores/memory/memory-store.js';

/** Options of {@link rateLimiter}: the algorithm's (see {@link AlgorithmOptions}) and these. */
export interface RateLimiterOptions<R extends Answer = Decision> extends AlgorithmOptions {
  /** Name used in metrics and errors (and a Redis store's key prefix). Default `'default'`. */
  name?: string;
  /** Where keys are kept. Default `memoryStore()`: in this process, at most 100,000 keys. */
  store?: RateLimitStoreFactory<R>;
  /** Source of time for the memory store. Default {@link systemClock}. */
  clock?: Clock;
  /** Where to count decisions. Default: nowhere, at no cost. */
  metrics?: RateLimitMetrics;
}

/** Limits what each key may spend; see {@link rateLimiter}. `R` is `Decision` for the memory store. */
export class RateLimiter<R extends Answer = Decision> {
  readonly name: string;
  readonly algorithm: RateAlgorithm;
  readonly store: RateLimitStore<R>;
  readonly #metrics: LimiterMetrics | undefined;

  /** Validates `options`; see {@link RateLimiterOptions}. */
  constructor(options: RateLimiterOptions<R>) {
    this.name = options.name === undefined ? 'default' : checkString('name', options.name);
    this.algorithm = createAlgorithm(options);
    const open = options.store ?? (memoryStore() as unknown as RateLimitStoreFactory<R>);
    this.store = open({ name: this.name, algorithm: this.algorithm, clock: options.clock ?? systemClock });
    this.#metrics = options.metrics?.limiter(this.name);
  }

  /**
   * Spends `cost` (default 1) on `key` if it fits, and says so: a refusal is a returned decision,
   * as cheap as an allowance. A cost above `algorithm.capacity` could never pass: it throws
   * `InvalidOptionError`.
   */
  consume(key: string, cost = 1): R {
    this.#check(key, cost, 'cost');
    const answer = this.store.consume(key, cost);
    if (this.#metrics === undefined) return answer;
    if (this.store.sync) return this.#count(answer as Decision) as R;
    return (answer as Promise<Decision>).then(this.#count) as R;
  }

  /** Like {@link RateLimiter.consume}, but a refusal throws (or rejects with) a `RateLimitedError`. */
  consumeOrThrow(key: string, cost = 1): R {
    const answer = this.consume(key, cost);
    if (this.store.sync) return this.#allowed(answer as Decision) as R;
    return (answer as Promise<Decision>).then(this.#allowed) as R;
  }

  /** Spends `points` (default 1) on `key` even past its limit (down to empty, never below). */
  penalty(key: string, points = 1): R {
    this.#check(key, points, 'points');
    return this.store.adjust(key, points);
  }

  /** Gives `points` (default 1) back to `key` (up to full); a block stays until it ends or {@link RateLimiter.delete}. */
  reward(key: string, points = 1): R {
    this.#check(key, points, 'points');
    return this.store.adjust(key, -points);
  }

  /** `key`'s state, spending nothing; `allowed` tells whether a request of cost 1 would pass. */
  get(key: string): R {
    this.#check(key, 1, 'cost');
    return this.store.get(key);
  }

  /** Forgets `key`, its block included: its next request starts fresh. */
  delete(key: string): Deleted<R> {
    this.#check(key, 1, 'cost');
    return this.store.delete(key);
  }

  #check(key: string, n: number, what: string): void {
    if (typeof key !== 'string') throw new InvalidOptionError(`key must be a string, got ${typeof key}`);
    if (n === 1) return;
    if (!Number.isInteger(n) || n < 1 || n > this.algorithm.capacity) {
      throw new InvalidOptionError(`${what} must be an integer between 1 and ${this.algorithm.capacity}, got ${String(n)}`);
    }
  }

  readonly #count = (d: Decision): Decision => {
    this.#metrics?.decision(d.allowed);
    return d;
  };

  readonly #allowed = (d: Decision): Decision => {
    if (d.allowed) return d;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0; // a stack would show only limiter internals, at a cost on the refused path
    try {
      throw new RateLimitedError(this.name, d);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

/** A rate limiter: per key, `limit` units per `windowDuration` ms by the chosen algorithm, in memory unless `store` says otherwise. */
export function rateLimiter<R extends Answer = Decision>(options: RateLimiterOptions<R>): RateLimiter<R> {
  return new RateLimiter(options);
}
