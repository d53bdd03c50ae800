import type { Clock } from '../../core/clock.js';

/** A cached value and when it was fetched (ms on the fallback's clock). */
export interface CacheEntry<V = unknown> {
  readonly value: V;
  readonly fetchedAt: number;
}

/** Something a store's answer may be: at once (memory) or later (Redis). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Where a `cachedFallback` keeps its last good values. A store never rejects: a failing backend
 * answers `undefined` (a miss) and drops writes, reporting through the fallback's `onError`, so a
 * cache outage costs origin calls, never answers.
 */
export interface CacheStore {
  /** The entry held for `key`, or `undefined`; an entry older than the spec's `retention` is a miss. */
  get(key: string): MaybePromise<CacheEntry | undefined>;
  /** Holds `entry` for `key`, replacing what was there. */
  set(key: string, entry: CacheEntry): MaybePromise<void>;
  /** Forgets `key`. */
  delete(key: string): MaybePromise<void>;
  /** Takes the refresh lock of `key` for `ms` across processes; true when taken (or when no lock can be had: then refresh anyway). */
  lock?(key: string): Promise<boolean>;
  /** Gives back a lock taken by {@link CacheStore.lock}. */
  unlock?(key: string): Promise<void>;
}

/** What a fallback tells its store when it opens it. */
export interface CacheStoreSpec {
  /** The fallback's name: a Redis store puts it in its keys. */
  name: string;
  /** ms after `fetchedAt` an entry can still be answered (ttl plus the longest stale window); older ones may be dropped. */
  retention: number;
  clock: Clock;
  /** Where the store reports a backend failure it absorbed. */
  onError: (error: unknown) => void;
}

/** Opens a store for one fallback: `memoryCacheStore()` and `redisCacheStore(client)` return one. */
export type CacheStoreFactory = (spec: CacheStoreSpec) => CacheStore;
