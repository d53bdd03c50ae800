import type { Clock } from '../../../../core/clock.js';
import { checkInteger } from '../../../../core/validate.js';
import type { CacheEntry, CacheStore, CacheStoreFactory, CacheStoreSpec } from '../../cache-store.js';

/** Options of {@link memoryCacheStore}. */
export interface MemoryCacheStoreOptions {
  /** Most keys held; past it the least recently used half is forgotten. Default 10,000. */
  maxKeys?: number;
}

/**
 * Entries in two generations of `Map`s, as the rate limiter's memory store keeps its keys: a key
 * read or written is in the current one; when the current one holds `maxKeys / 2` keys or is older
 * than `retention`, it becomes the old one and the old one is dropped whole. No timer and no sweep:
 * an entry dropped for age had not been touched for a full `retention`, so it could not be answered
 * anyway, and an entry past `retention` reads as a miss.
 */
export class MemoryCacheStore implements CacheStore {
  readonly #clock: Clock;
  readonly #retention: number;
  readonly #generation: number;
  #current = new Map<string, CacheEntry>();
  #old = new Map<string, CacheEntry>();
  #since: number;

  /** Opens the store for one fallback; see {@link memoryCacheStore}. */
  constructor(spec: Pick<CacheStoreSpec, 'clock' | 'retention'>, options: MemoryCacheStoreOptions = {}) {
    this.#generation = Math.floor(checkInteger('maxKeys', options.maxKeys ?? 10_000, 2, 2 ** 30) / 2);
    this.#clock = spec.clock;
    this.#retention = spec.retention;
    this.#since = this.#clock.now();
  }

  /** Keys held now, both generations (expired ones included until their generation is dropped). */
  get size(): number {
    return this.#current.size + this.#old.size;
  }

  get(key: string): CacheEntry | undefined {
    const now = this.#age();
    let entry = this.#current.get(key);
    if (entry === undefined) {
      entry = this.#old.get(key);
      if (entry === undefined) return undefined;
      this.#old.delete(key);
      if (now - entry.fetchedAt < this.#retention) this.#put(key, entry);
    }
    if (now - entry.fetchedAt < this.#retention) return entry;
    this.#current.delete(key);
    return undefined;
  }

  set(key: string, entry: CacheEntry): void {
    this.#age();
    this.#old.delete(key);
    this.#put(key, entry);
  }

  delete(key: string): void {
    this.#current.delete(key);
    this.#old.delete(key);
  }

  #put(key: string, entry: CacheEntry): void {
    if (this.#current.size >= this.#generation && !this.#current.has(key)) this.#swap(this.#clock.now());
    this.#current.set(key, entry);
  }

  /** Swaps generations when the current one is older than `retention`; answers now. */
  #age(): number {
    const now = this.#clock.now();
    if (now - this.#since >= this.#retention) this.#swap(now);
    return now;
  }

  #swap(now: number): void {
    this.#old = this.#current;
    this.#current = new Map();
    this.#since = now;
  }
}

/** A memory store for each cached fallback it is given to: bounded, no timers; see {@link MemoryCacheStore}. */
export function memoryCacheStore(options: MemoryCacheStoreOptions = {}): CacheStoreFactory {
  checkInteger('maxKeys', options.maxKeys ?? 10_000, 2, 2 ** 30);
  return (spec) => new MemoryCacheStore(spec, options);
}
