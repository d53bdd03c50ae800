import { abortable, abortReason } from '../../core/abort.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { checkFunction, checkNumber, checkString } from '../../core/validate.js';
import type { Composable } from '../../policy/compose.js';
import { contextFor, type ExecuteContext, neverAbortedSignal, type PolicyFn, rootContext } from '../../policy/policy.js';
import type { FallbackAnswer } from './answer.js';
import type { CacheEntry, CacheStore, CacheStoreFactory, MaybePromise } from './cache-store.js';
import { checkPolicy } from './check-policy.js';
import { type BoundFallbackMetrics, boundMetrics, type FallbackMetrics } from './metrics-sink.js';
import { memoryCacheStore } from './stores/memory/memory-cache-store.js';

/** Options of {@link cachedFallback}. */
export interface CachedFallbackOptions {
  /** Name in metrics and in a Redis store's keys. Default `'default'`. */
  name?: string;
  /** ms a value is fresh: answered from the cache without calling the origin. */
  ttl: number;
  /** ms past `ttl` a value is answered at once while one refresh runs in the background. Default 0 (off). */
  staleWhileRevalidate?: number;
  /** ms past `ttl` a value may still be answered when the origin fails: the most stale an answer gets. Default 24 h. */
  staleIfError?: number;
  /** Which origin errors a stale value may stand in for. Default: every error. */
  serveStaleOn?: (error: unknown) => boolean;
  /** Where values are kept. Default `memoryCacheStore()`. */
  store?: CacheStoreFactory;
  /** Policies every origin call runs under (`compose(breaker, retry, timeout)`). Default: none. */
  policy?: Composable;
  /** Source of time for freshness. Default {@link systemClock}. */
  clock?: Clock;
  /** Where to count answers by source. Default: nowhere. */
  metrics?: FallbackMetrics;
  /** Called with failures no caller sees: a background refresh's, the store's. Default: nothing. */
  onError?: (error: unknown) => void;
}

const DAY = 86_400_000;
type Flight<V> = Promise<CacheEntry<V> | undefined>;

/**
 * The last good value per key, answered while fresh (`cache`), past its ttl while it refreshes in
 * the background (`stale`, stale-while-revalidate), and when the origin fails (`stale`,
 * stale-if-error); otherwise from the origin (`fresh`). One origin call at a time per key in this
 * process (single flight): concurrent callers of a missing or stale key share it, and each caller's
 * signal ends only its own wait. A store with a lock (Redis) also keeps background refreshes of
 * other processes from running at once.
 */
export class CachedFallback<V = unknown> {
  /** Name in metrics and in a Redis store's keys. */
  readonly name: string;
  readonly #ttl: number;
  readonly #swr: number;
  readonly #sie: number;
  readonly #serveStaleOn: (error: unknown) => boolean;
  readonly #store: CacheStore;
  readonly #policy: Composable | undefined;
  readonly #clock: Clock;
  readonly #metrics: BoundFallbackMetrics;
  readonly #onError: (error: unknown) => void;
  readonly #flights = new Map<string, Flight<V>>();
  readonly #reads = new Map<string, Promise<CacheEntry | undefined>>();
  readonly #background = new Set<Promise<unknown>>();

  /** Validates `options` and opens the store; see {@link CachedFallbackOptions}. */
  constructor(options: CachedFallbackOptions) {
    this.name = options.name === undefined ? 'default' : checkString('name', options.name);
    this.#ttl = checkNumber('ttl', options.ttl, 0);
    this.#swr = checkNumber('staleWhileRevalidate', options.staleWhileRevalidate ?? 0, 0);
    this.#sie = checkNumber('staleIfError', options.staleIfError ?? DAY, 0);
    checkFunction('serveStaleOn', options.serveStaleOn);
    checkFunction('store', options.store);
    checkFunction('onError', options.onError);
    checkPolicy('policy', options.policy);
    this.#serveStaleOn = options.serveStaleOn ?? (() => true);
    this.#policy = options.policy;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = boundMetrics(options.metrics, this.name, ['fresh', 'cache', 'stale', 'failed']);
    const onError = options.onError;
    this.#onError = (error) => {
      try {
        onError?.(error);
      } catch {
        // a throwing logger must not turn an answer into a rejection
      }
    };
    const retention = this.#ttl + Math.max(this.#swr, this.#sie);
    this.#store = (options.store ?? memoryCacheStore())({ name: this.name, retention, clock: this.#clock, onError: this.#onError });
  }

  /** Origin calls running now (foreground and background). */
  get refreshing(): number {
    return this.#flights.size;
  }

  /** The value of `key`: from the cache, or from `fn` (the origin); says where it came from. */
  get(key: string, fn: PolicyFn<V>, signal?: AbortSignal): Promise<FallbackAnswer<V>> {
    return this.answerIn(key, fn, contextFor(signal));
  }

  /** Like {@link CachedFallback.get}, in an existing context (its `attempt` reaches `fn`). */
  async answerIn(key: string, fn: PolicyFn<V>, context: ExecuteContext): Promise<FallbackAnswer<V>> {
    const signal = context.signal;
    if (signal.aborted) throw abortReason(signal);
    const entry = await this.#read(key);
    if (entry !== undefined) {
      const age = this.#clock.now() - entry.fetchedAt;
      if (age < this.#ttl) return this.#cached(entry, 'cache', age);
      if (age < this.#ttl + this.#swr) {
        this.#revalidate(key, fn, context.attempt);
        return this.#cached(entry, 'stale', age);
      }
    }
    try {
      const fetched = await this.#wait(this.#fetch(key, fn, context.attempt), signal);
      this.#metrics.answered('fresh');
      return { value: fetched.value, source: 'fresh', ageMs: Math.max(0, this.#clock.now() - fetched.fetchedAt) };
    } catch (error) {
      if (entry !== undefined && !signal.aborted && this.#staleFor(error)) {
        const age = this.#clock.now() - entry.fetchedAt;
        if (age < this.#ttl + this.#sie) return { ...this.#cached(entry, 'stale', age), error };
      }
      this.#metrics.answered('failed');
      throw error;
    }
  }

  /** A policy for one key, to compose: `compose(users.forKey(id), breaker, retry, timeout)`. */
  forKey(key: string): KeyedCachedFallback<V> {
    return new KeyedCachedFallback(this, checkString('key', key));
  }

  /** Forgets `key`: the next call goes to the origin. */
  async delete(key: string): Promise<void> {
    try {
      await this.#store.delete(key);
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Resolves once no background refresh runs (for tests and shutdown). */
  async whenIdle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  #cached(entry: CacheEntry, source: 'cache' | 'stale', age: number): FallbackAnswer<V> {
    this.#metrics.answered(source);
    return { value: entry.value as V, source, ageMs: Math.max(0, age) }; // another process's clock may be ahead
  }

  #staleFor(error: unknown): boolean {
    try {
      return this.#serveStaleOn(error);
    } catch (e) {
      this.#onError(e);
      return false;
    }
  }

  #wait<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
    return signal === neverAbortedSignal ? work : abortable(work, signal);
  }

  /**
   * The entry of `key`, or `undefined` when it has none or the store failed. Concurrent reads of a
   * key share one (one GET to Redis), so their callers resume together and share one origin call.
   */
  #read(key: string): MaybePromise<CacheEntry | undefined> {
    const pending = this.#reads.get(key);
    if (pending !== undefined) return pending;
    let got: MaybePromise<CacheEntry | undefined>;
    try {
      got = this.#store.get(key);
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
    if (!(got instanceof Promise)) return got;
    const read = got
      .catch((error: unknown) => {
        this.#onError(error);
        return undefined;
      })
      .finally(() => this.#reads.delete(key));
    this.#reads.set(key, read);
    return read;
  }

  /** The flight of `key` under way, or a new one; a background flight that lost the lock is not joined. */
  #fetch(key: string, fn: PolicyFn<V>, attempt: number): Promise<CacheEntry<V>> {
    const joined = this.#flights.get(key);
    if (joined === undefined) return this.#fly(key, fn, attempt, false) as Promise<CacheEntry<V>>;
    return joined.then((entry) => entry ?? this.#fetch(key, fn, attempt));
  }

  /** Starts one background refresh of `key` unless one is under way; its failure goes to `onError`. */
  #revalidate(key: string, fn: PolicyFn<V>, attempt: number): void {
    if (this.#flights.has(key)) return;
    const flight = this.#fly(key, fn, attempt, true).then(
      () => undefined,
      (error: unknown) => this.#onError(error),
    );
    this.#background.add(flight);
    void flight.finally(() => this.#background.delete(flight));
  }

  /** One origin call for `key`, registered as its flight until it settles; `locked`: only with the store's lock. */
  #fly(key: string, fn: PolicyFn<V>, attempt: number, locked: boolean): Flight<V> {
    const flight = (locked ? this.#lockedOrigin(key, fn, attempt) : this.#origin(key, fn, attempt)).finally(() => {
      this.#flights.delete(key);
    });
    this.#flights.set(key, flight);
    return flight;
  }

  async #lockedOrigin(key: string, fn: PolicyFn<V>, attempt: number): Flight<V> {
    const store = this.#store;
    if (store.lock === undefined) return this.#origin(key, fn, attempt);
    if (!(await store.lock(key).catch(this.#lockFailed))) return undefined; // another process refreshes it
    try {
      return await this.#origin(key, fn, attempt);
    } finally {
      await store.unlock?.(key).catch(this.#lockFailed);
    }
  }

  /** A store breaking its promise never to reject: reported, and the refresh goes ahead. */
  readonly #lockFailed = (error: unknown): true => {
    this.#onError(error);
    return true;
  };

  async #origin(key: string, fn: PolicyFn<V>, attempt: number): Promise<CacheEntry<V>> {
    // shared by every caller of the key, so no caller's signal: each ends only its own wait
    const context = attempt === 1 ? rootContext : { signal: neverAbortedSignal, attempt };
    const value = await (this.#policy === undefined ? fn(context) : this.#policy.run(fn, context));
    const entry: CacheEntry<V> = { value, fetchedAt: this.#clock.now() };
    try {
      await this.#store.set(key, entry);
    } catch (error) {
      this.#onError(error);
    }
    return entry;
  }
}

/** One key of a {@link CachedFallback} as a policy: composes with every policy, `answer` says where the value came from. */
export class KeyedCachedFallback<V> {
  readonly #cache: CachedFallback<V>;
  /** The cache key. */
  readonly key: string;

  constructor(cache: CachedFallback<V>, key: string) {
    this.#cache = cache;
    this.key = key;
  }

  /** Runs `fn` (the origin) unless the cache answers. */
  execute<T extends V>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<V> {
    return this.run<V>(fn, contextFor(signal));
  }

  /** Runs in an existing context (used by `compose`). */
  async run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    return (await this.#cache.answerIn(this.key, fn as unknown as PolicyFn<V>, context)).value as unknown as T;
  }

  /** Like `execute`, and says where the value came from. */
  answer(fn: PolicyFn<V>, signal?: AbortSignal): Promise<FallbackAnswer<V>> {
    return this.#cache.answerIn(this.key, fn, contextFor(signal));
  }
}

/** A cache of last good values per key, for stale-if-error and stale-while-revalidate; see {@link CachedFallback}. */
export function cachedFallback<V = unknown>(options: CachedFallbackOptions): CachedFallback<V> {
  return new CachedFallback<V>(options);
}
