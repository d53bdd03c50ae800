import type { Clock } from '../../../core/clock.js';
import { checkInteger } from '../../../core/validate.js';
import type { RateAlgorithm } from '../../algorithms/algorithm.js';
import type { Decision } from '../../decision.js';
import type { RateLimitStore, RateLimitStoreFactory, StoreSpec } from '../../store.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Most keys held; past it the least recently used half is forgotten. Default 100,000. */
  maxKeys?: number;
}

/** Keys a generation's slab starts with room for; it doubles up to the generation's size. */
const FIRST_SLOTS = 1024;

/**
 * Keys in two generations (as quick-lru and express-rate-limit's store do), each a `Map` from key
 * to a slot in one `Float64Array`: no object and no timer per key. A key used is in the current
 * generation (moved there from the old one); when the current one is full (`maxKeys / 2`) or older
 * than the algorithm's `ttl`, it becomes the old one and the old one is dropped whole. So at most
 * `maxKeys` are held, the `maxKeys / 2` most recently used are never dropped, and a key dropped for
 * age had not changed for a full `ttl`, so its state was fresh anyway (expiry costs nothing per key).
 */
export class MemoryStore implements RateLimitStore<Decision> {
  readonly sync = true;
  readonly #algorithm: RateAlgorithm;
  readonly #clock: Clock;
  readonly #slots: number;
  readonly #ttl: number;
  /** Keys per generation. */
  readonly #generation: number;
  #current = new Map<string, number>();
  #currentSlab: Float64Array;
  /** Slots handed out in the current generation (a deleted key's slot is not reused). */
  #used = 0;
  #old = new Map<string, number>();
  #oldSlab: Float64Array;
  #since: number;
  /** A fresh state, for reading keys not held. */
  readonly #fresh: Float64Array;

  /** Opens the store for one limiter; see {@link memoryStore}. */
  constructor(spec: StoreSpec, options: MemoryStoreOptions = {}) {
    const maxKeys = checkInteger('maxKeys', options.maxKeys ?? 100_000, 2, 2 ** 30);
    this.#algorithm = spec.algorithm;
    this.#clock = spec.clock;
    this.#slots = spec.algorithm.slots;
    this.#ttl = spec.algorithm.ttl;
    this.#generation = Math.floor(maxKeys / 2);
    this.#currentSlab = this.#slab(Math.min(FIRST_SLOTS, this.#generation));
    this.#oldSlab = this.#slab(0);
    this.#fresh = this.#slab(1);
    this.#since = this.#clock.now();
  }

  /** Keys held now, both generations. */
  get size(): number {
    return this.#current.size + this.#old.size;
  }

  consume(key: string, cost: number): Decision {
    const now = this.#clock.now();
    const o = this.#hold(key, now); // before reading the slab: holding may swap or grow it
    return this.#algorithm.consume(this.#currentSlab, o, now, cost);
  }

  adjust(key: string, points: number): Decision {
    const now = this.#clock.now();
    const o = this.#hold(key, now);
    return this.#algorithm.adjust(this.#currentSlab, o, now, points);
  }

  get(key: string): Decision {
    const now = this.#clock.now();
    const slot = this.#current.get(key);
    if (slot !== undefined) return this.#algorithm.peek(this.#currentSlab, slot * this.#slots, now);
    const old = this.#old.get(key);
    if (old !== undefined) return this.#algorithm.peek(this.#oldSlab, old * this.#slots, now);
    this.#fresh.fill(0); // a read may normalise the state it reads
    return this.#algorithm.peek(this.#fresh, 0, now);
  }

  delete(key: string): boolean {
    const current = this.#current.delete(key);
    return this.#old.delete(key) || current;
  }

  /** Offset of `key`'s state in the current slab, moving or creating it there. */
  #hold(key: string, now: number): number {
    const held = this.#current.get(key);
    if (held !== undefined && now - this.#since < this.#ttl) return held * this.#slots;
    if (now - this.#since >= this.#ttl || this.#used === this.#generation) this.#swap(now);
    const slot = this.#used++;
    const o = slot * this.#slots;
    if (o + this.#slots > this.#currentSlab.length) this.#grow();
    const old = this.#old.get(key);
    if (old === undefined) {
      this.#currentSlab.fill(0, o, o + this.#slots);
    } else {
      this.#currentSlab.set(this.#oldSlab.subarray(old * this.#slots, (old + 1) * this.#slots), o);
      this.#old.delete(key);
    }
    this.#current.set(key, slot);
    return o;
  }

  /** The current generation becomes the old one; the old one is dropped, its slab reused. */
  #swap(now: number): void {
    const slab = this.#oldSlab;
    this.#old = this.#current;
    this.#oldSlab = this.#currentSlab;
    this.#current = new Map();
    this.#currentSlab = slab.length > 0 ? slab : this.#slab(Math.min(FIRST_SLOTS, this.#generation));
    this.#used = 0;
    this.#since = now;
  }

  #grow(): void {
    const slots = Math.min(this.#generation, Math.max(FIRST_SLOTS, 2 * (this.#currentSlab.length / this.#slots)));
    const slab = this.#slab(slots);
    slab.set(this.#currentSlab);
    this.#currentSlab = slab;
  }

  #slab(keys: number): Float64Array {
    return new Float64Array(keys * this.#slots);
  }
}

/** A memory store for each limiter it is given to: bounded, no timers; see {@link MemoryStore}. */
export function memoryStore(options: MemoryStoreOptions = {}): RateLimitStoreFactory<Decision> {
  checkInteger('maxKeys', options.maxKeys ?? 100_000, 2, 2 ** 30);
  return (spec) => new MemoryStore(spec, options);
}
