import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { InvalidOptionError } from '../../../../core/errors.js';
import { checkInteger, checkString } from '../../../../core/validate.js';
import { BrokenCircuitError } from '../../../../policy/breaker-errors.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../../../../policy/circuit-breaker.js';
import { compose } from '../../../../policy/compose.js';
import type { Policy } from '../../../../policy/policy.js';
import { timeout } from '../../../../policy/timeout.js';
import type { CacheEntry, CacheStore, CacheStoreFactory, CacheStoreSpec } from '../../cache-store.js';
import { MemoryCacheStore } from '../memory/memory-cache-store.js';

/** A client the Redis cache store runs on: an ioredis `Redis` or `Cluster`. */
export type RedisCacheClient = Redis | Cluster;

/** Options of {@link redisCacheStore}. */
export interface RedisCacheStoreOptions {
  /** Start of every key: values at `<prefix>:v:<name>:<key>`, locks at `<prefix>:lock:<name>:<key>`. Default `'nines:fb'`. */
  prefix?: string;
  /** ms a Redis call may take before the memory copy answers instead. Default 200. */
  timeout?: number;
  /** The breaker guarding Redis, or options for one. Default: opens after 3 failures in a row, probes again after 5 s. */
  breaker?: CircuitBreaker | CircuitBreakerOptions;
  /** ms a background refresh holds its cross-process lock (`SET NX PX`); 0 for no lock. Default 10,000. */
  lockDuration?: number;
  /** Most keys of the memory copy this process keeps for when Redis fails. Default 10,000. */
  memoryKeys?: number;
}

const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Values in Redis as JSON `{"t": fetchedAt, "v": value}`, expiring (`PX`) with the fallback's
 * retention, so every process using the prefix shares them; values must survive `JSON.stringify`.
 * Every value read or written is also kept in a memory copy, which answers while Redis fails, is
 * slower than `timeout` or its breaker is open; of two copies the newer is answered. A background
 * refresh first takes a short lock (`SET NX PX`), so of several processes one refreshes.
 */
export class RedisCacheStore implements CacheStore {
  /** The breaker guarding Redis: open while the memory copy answers. */
  readonly breaker: CircuitBreaker;
  readonly #client: RedisCacheClient;
  readonly #memory: MemoryCacheStore;
  readonly #guard: Policy;
  readonly #values: string;
  readonly #locks: string;
  readonly #retention: number;
  readonly #lockDuration: number;
  readonly #token = randomUUID();
  readonly #spec: CacheStoreSpec;

  /** Opens the store for one fallback; see {@link redisCacheStore}. */
  constructor(client: RedisCacheClient, spec: CacheStoreSpec, options: RedisCacheStoreOptions = {}) {
    const o = checkOptions(options);
    this.#client = client;
    this.#spec = spec;
    this.#memory = new MemoryCacheStore(spec, { maxKeys: o.memoryKeys });
    this.#values = `${o.prefix}:v:${spec.name}:`;
    this.#locks = `${o.prefix}:lock:${spec.name}:`;
    this.#retention = spec.retention;
    this.#lockDuration = o.lockDuration;
    // the rate limiter's Redis store guards its calls the same way: 3 failures open it for 5 s
    const defaults: CircuitBreakerOptions = { name: `fallback:${spec.name}`, failureThreshold: 3, openDuration: 5000, clock: spec.clock };
    const b = options.breaker;
    this.breaker = b instanceof CircuitBreaker ? b : new CircuitBreaker({ ...defaults, successThreshold: 1, ...b });
    this.#guard = compose(this.breaker, timeout(o.timeout, { strategy: 'aggressive', clock: spec.clock }));
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const local = this.#memory.get(key);
    const raw = await this.#call(() => this.#client.get(this.#values + key), null);
    const remote = raw === null ? undefined : this.#parse(raw);
    if (remote === undefined || (local !== undefined && local.fetchedAt >= remote.fetchedAt)) return local;
    if (this.#spec.clock.now() - remote.fetchedAt >= this.#retention) return local;
    this.#memory.set(key, remote);
    return remote;
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    this.#memory.set(key, entry);
    const json = JSON.stringify({ t: entry.fetchedAt, v: entry.value });
    const k = this.#values + key;
    const ms = Math.ceil(this.#retention);
    await this.#call(() => (Number.isFinite(ms) ? this.#client.set(k, json, 'PX', Math.max(1, ms)) : this.#client.set(k, json)), null);
  }

  async delete(key: string): Promise<void> {
    this.#memory.delete(key);
    await this.#call(() => this.#client.del(this.#values + key), 0);
  }

  async lock(key: string): Promise<boolean> {
    if (this.#lockDuration === 0) return true;
    const taken = await this.#call(() => this.#client.set(this.#locks + key, this.#token, 'PX', this.#lockDuration, 'NX'), 'OK');
    return taken === 'OK';
  }

  async unlock(key: string): Promise<void> {
    if (this.#lockDuration === 0) return;
    await this.#call(() => this.#client.eval(UNLOCK, 1, this.#locks + key, this.#token), 0);
  }

  /** `fn`'s answer, or `otherwise` when Redis is not connected, fails or is slow (the failure reported). */
  async #call<T>(fn: () => Promise<T>, otherwise: T): Promise<T> {
    // a call queued while disconnected would only be sent after the answer was needed
    const status = this.#client.status;
    if (status === 'reconnecting' || status === 'close' || status === 'end') return otherwise;
    try {
      return await this.#guard.execute(fn);
    } catch (error) {
      if (!(error instanceof BrokenCircuitError)) this.#spec.onError(error); // an open breaker is not news
      return otherwise;
    }
  }

  #parse(raw: string): CacheEntry | undefined {
    try {
      const parsed = JSON.parse(raw) as { t?: unknown; v?: unknown };
      if (typeof parsed?.t === 'number') return { value: parsed.v, fetchedAt: parsed.t };
    } catch {
      // reported below
    }
    this.#spec.onError(new Error(`fallback ${this.#spec.name}: a cached value in Redis is not nines' JSON, ignored`));
    return undefined;
  }
}

function checkOptions(options: RedisCacheStoreOptions) {
  const prefix = options.prefix === undefined ? 'nines:fb' : checkString('prefix', options.prefix);
  return {
    prefix,
    timeout: checkInteger('timeout', options.timeout ?? 200, 1),
    lockDuration: checkInteger('lockDuration', options.lockDuration ?? 10_000, 0),
    memoryKeys: checkInteger('memoryKeys', options.memoryKeys ?? 10_000, 2, 2 ** 30),
  };
}

/**
 * A Redis store for each cached fallback it is given to, on `client` (ioredis `Redis` or `Cluster`),
 * shared across processes, answering from a memory copy while Redis fails; see {@link RedisCacheStore}.
 */
export function redisCacheStore(client: RedisCacheClient, options: RedisCacheStoreOptions = {}): CacheStoreFactory {
  checkOptions(options);
  if (client === null || typeof client !== 'object' || typeof client.get !== 'function' || typeof client.eval !== 'function') {
    throw new InvalidOptionError('client must be an ioredis Redis or Cluster');
  }
  return (spec) => new RedisCacheStore(client, spec, options);
}
