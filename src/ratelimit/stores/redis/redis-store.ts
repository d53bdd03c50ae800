import type { Cluster, Redis } from 'ioredis';
import type { Clock } from '../../../core/clock.js';
import { InvalidOptionError } from '../../../core/errors.js';
import { checkFunction, checkInteger, checkString } from '../../../core/validate.js';
import { BrokenCircuitError } from '../../../policy/breaker-errors.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../../../policy/circuit-breaker.js';
import { compose } from '../../../policy/compose.js';
import type { Policy } from '../../../policy/policy.js';
import { timeout } from '../../../policy/timeout.js';
import type { RateAlgorithm } from '../../algorithms/algorithm.js';
import { createAlgorithm } from '../../algorithms/index.js';
import type { Decision } from '../../decision.js';
import type { RateLimitStore, RateLimitStoreFactory, StoreSpec } from '../../store.js';
import { MemoryStore } from '../memory/memory-store.js';
import { luaScript } from './lua.js';
import { RejectionCache } from './rejection-cache.js';

/** A client the Redis store runs on: an ioredis `Redis` or `Cluster`. */
export type RedisStoreClient = Redis | Cluster;

/** What answers while Redis cannot: see docs/rate-limiting.md, "Insurance". */
export type InsuranceMode = 'memory' | 'open' | 'closed';

/** Options of the Redis store's insurance. */
export interface RedisInsuranceOptions {
  /** `'memory'` (default): a limiter in this process; `'open'`: allow every request; `'closed'`: refuse every one. */
  mode?: InsuranceMode;
  /** Processes sharing the limit: the memory insurance allows `limit / expectedInstances` each. Default 1. */
  expectedInstances?: number;
  /** ms a Redis call may take before insurance answers instead. Default 200. */
  timeout?: number;
  /** The breaker guarding Redis, or options for one. Default: opens after 3 failures in a row, probes again after 5 s. */
  breaker?: CircuitBreaker | CircuitBreakerOptions;
  /** Called with each Redis failure (the decision is insurance's); for logs. Default: nothing. */
  onError?: (error: unknown) => void;
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** Start of every key: keys are `<prefix>:<limiter>:{<key>}`. Default `'nines:rl'`. */
  prefix?: string;
  /** Most over-limit keys this process remembers until their retry time, so their requests do not reach Redis; 0 for none. Default 10,000. */
  rejectedKeys?: number;
  /** What answers when Redis fails or is slow. */
  insurance?: RedisInsuranceOptions;
}

type Op = 'c' | 'a' | 'p';
/** `numberOfKeys, ...keys, ...limits, then op and n per key`; answers 5 numbers per key. */
type ScriptCall = (...args: (string | number)[]) => Promise<number[]>;

/** A decision waiting for the next batch. */
interface Pending {
  op: Op;
  key: string;
  n: number;
  resolve: (d: Decision) => void;
}

/** Most decisions sent in one script call (it blocks Redis while it runs). */
const MAX_BATCH = 100;

/**
 * Keys in Redis, shared by every process using the same prefix and limiter name. Decisions asked
 * in the same tick go to Redis together, in one call of the algorithm's Lua script (`defineCommand`,
 * so EVALSHA): atomic, one key per decision, at Redis' time, so a busy process pays one round trip
 * and one write for many decisions (with a Cluster, one call per decision: keys of a call must
 * share a slot). A breaker and a timeout guard each call; while Redis fails, insurance decides.
 */
export class RedisStore implements RateLimitStore<Promise<Decision>> {
  readonly sync = false;
  /** The breaker guarding Redis: open while insurance decides. */
  readonly breaker: CircuitBreaker;
  readonly #client: RedisStoreClient;
  readonly #script: ScriptCall;
  readonly #limits: string[];
  readonly #maxBatch: number;
  #batch: Pending[] = [];
  #scheduled = false;
  readonly #keyPrefix: string;
  readonly #guard: Policy;
  readonly #clock: Clock;
  readonly #cache: RejectionCache | undefined;
  readonly #insure: (op: Op, key: string, n: number) => Decision;
  readonly #fallback: MemoryStore | undefined;
  readonly #onError: ((error: unknown) => void) | undefined;

  /** Opens the store for one limiter; see {@link redisStore}. */
  constructor(client: RedisStoreClient, spec: StoreSpec, options: RedisStoreOptions = {}) {
    const o = checkRedisOptions(options);
    const a = spec.algorithm;
    if (/[{}]/.test(spec.name)) throw new InvalidOptionError(`name must not contain { or } with a Redis store, got ${spec.name}`);
    this.#client = client;
    this.#clock = spec.clock;
    this.#keyPrefix = `${o.prefix}:${spec.name}:{`;
    this.#limits = [a.limit, a.windowDuration, a.capacity, a.blockDuration, a.ttl, a.slots].map(String);
    this.#maxBatch = client.isCluster ? 1 : MAX_BATCH;
    const command = `ninesRateLimit_${a.kind.replace('-', '_')}`;
    const commands = client as unknown as Record<string, ScriptCall | undefined>;
    if (typeof commands[command] !== 'function') client.defineCommand(command, { lua: luaScript(a.kind) });
    this.#script = (commands[command] as ScriptCall).bind(client);
    const insurance = options.insurance ?? {};
    this.breaker =
      insurance.breaker instanceof CircuitBreaker
        ? insurance.breaker
        : new CircuitBreaker({
            name: `ratelimit:${spec.name}`,
            failureThreshold: 3,
            openDuration: 5000,
            successThreshold: 1,
            clock: spec.clock,
            ...insurance.breaker,
          });
    this.#guard = compose(this.breaker, timeout(o.timeout, { strategy: 'aggressive', clock: spec.clock }));
    this.#cache = o.rejectedKeys > 0 ? new RejectionCache(o.rejectedKeys) : undefined;
    this.#onError = insurance.onError;
    if (o.mode === 'memory') {
      const share = shareOf(a, o.expectedInstances);
      const fallback = new MemoryStore({ ...spec, algorithm: share });
      this.#fallback = fallback;
      this.#insure = (op, key, n) => (op === 'c' && n > share.capacity ? closedDecision(share) : insureInMemory(fallback, op, key, n));
    } else {
      this.#insure = o.mode === 'open' ? (_op, _key, n) => openDecision(a, n) : () => closedDecision(a);
    }
  }

  consume(key: string, cost: number): Promise<Decision> {
    if (this.#cache !== undefined) {
      const cached = this.#cache.get(key, cost, this.#clock.now());
      if (cached !== undefined) return Promise.resolve(cached);
    }
    return this.#call('c', key, cost);
  }

  adjust(key: string, points: number): Promise<Decision> {
    if (points < 0) this.#cache?.delete(key); // a reward may let the key through sooner
    return this.#call('a', key, points);
  }

  get(key: string): Promise<Decision> {
    return this.#call('p', key, 1);
  }

  delete(key: string): Promise<boolean> {
    this.#cache?.delete(key);
    const local = this.#fallback?.delete(key) ?? false;
    if (!this.#connected()) return Promise.resolve(local);
    return this.#guard
      .execute(() => this.#client.del(this.#keyPrefix + key + '}'))
      .then(
        (n) => n > 0 || local,
        (error: unknown) => {
          this.#failed(error);
          return local;
        },
      );
  }

  /** False while the client knows its connection is lost: asking would only queue the call. */
  #connected(): boolean {
    const status = this.#client.status;
    return status !== 'reconnecting' && status !== 'close' && status !== 'end';
  }

  #call(op: Op, key: string, n: number): Promise<Decision> {
    // a queued call would be sent after reconnecting and spend again what insurance decided
    if (!this.#connected()) return Promise.resolve(this.#insure(op, key, n));
    return new Promise((resolve) => {
      this.#batch.push({ op, key, n, resolve });
      if (this.#batch.length >= this.#maxBatch) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(this.#flushScheduled); // after the microtasks now running: their decisions join this batch
      }
    });
  }

  readonly #flushScheduled = (): void => {
    this.#scheduled = false;
    if (this.#batch.length > 0) this.#flush();
  };

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    const args: (string | number)[] = [batch.length];
    for (const p of batch) args.push(this.#keyPrefix + p.key + '}');
    args.push(...this.#limits);
    for (const p of batch) args.push(p.op, p.n);
    const sent = this.#clock.now();
    this.#guard
      .execute(() => this.#script(...args))
      .then(
        (r) => {
          for (let i = 0; i < batch.length; i++) {
            const p = batch[i] as Pending;
            const o = 5 * i;
            const d: Decision = {
              allowed: r[o] === 1,
              limit: r[o + 1] as number,
              remaining: r[o + 2] as number,
              resetMs: r[o + 3] as number,
              retryAfterMs: r[o + 4] as number,
            };
            // measured from when the call was sent, so the cache never refuses past Redis' own answer
            if (p.op === 'c' && !d.allowed) this.#cache?.set(p.key, p.n, d, sent);
            p.resolve(d);
          }
        },
        (error: unknown) => {
          this.#failed(error);
          for (const p of batch) p.resolve(this.#insure(p.op, p.key, p.n));
        },
      );
  }

  #failed(error: unknown): void {
    if (this.#onError === undefined || error instanceof BrokenCircuitError) return; // an open breaker is not news
    try {
      this.#onError(error);
    } catch {
      // a throwing logger must not turn a decision into a rejection
    }
  }
}

/** Validated options with their defaults. */
function checkRedisOptions(options: RedisStoreOptions) {
  const insurance = options.insurance ?? {};
  const mode = insurance.mode ?? 'memory';
  if (mode !== 'memory' && mode !== 'open' && mode !== 'closed') {
    throw new InvalidOptionError(`insurance.mode must be 'memory', 'open' or 'closed', got ${String(mode)}`);
  }
  checkFunction('insurance.onError', insurance.onError);
  const prefix = options.prefix === undefined ? 'nines:rl' : checkString('prefix', options.prefix);
  if (/[{}]/.test(prefix)) throw new InvalidOptionError(`prefix must not contain { or }, got ${prefix}`);
  return {
    prefix,
    mode,
    rejectedKeys: checkInteger('rejectedKeys', options.rejectedKeys ?? 10_000, 0, 2 ** 30),
    expectedInstances: checkInteger('insurance.expectedInstances', insurance.expectedInstances ?? 1, 1),
    timeout: checkInteger('insurance.timeout', insurance.timeout ?? 200, 1),
  };
}

/** `a` with its limit and burst divided among `instances` (at least 1 each), so together they stay within it. */
function shareOf(a: RateAlgorithm, instances: number): RateAlgorithm {
  if (instances === 1) return a;
  const share = (x: number) => Math.max(1, Math.floor(x / instances));
  const buckets = a.kind === 'token-bucket' || a.kind === 'gcra';
  return createAlgorithm({
    algorithm: a.kind,
    limit: share(a.limit),
    windowDuration: a.windowDuration,
    burst: buckets ? share(a.capacity) : undefined,
    blockDuration: a.blockDuration,
  });
}

function insureInMemory(store: MemoryStore, op: Op, key: string, n: number): Decision {
  if (op === 'p') return store.get(key);
  if (op === 'a') return store.adjust(key, n);
  return store.consume(key, n);
}

function openDecision(a: RateAlgorithm, cost: number): Decision {
  return { allowed: true, limit: a.capacity, remaining: Math.max(0, a.capacity - cost), resetMs: 0, retryAfterMs: 0 };
}

/** A refusal for when no answer can be had (insurance `'closed'`, or a cost above the memory share). */
function closedDecision(a: RateAlgorithm): Decision {
  const wait = Math.min(a.windowDuration, 1000);
  return { allowed: false, limit: a.capacity, remaining: 0, resetMs: wait, retryAfterMs: wait };
}

/**
 * A store for each limiter it is given to, on `client` (ioredis `Redis` or `Cluster`), with
 * insurance when Redis fails; see {@link RedisStore} and docs/rate-limiting.md, "Distributed".
 */
export function redisStore(client: RedisStoreClient, options: RedisStoreOptions = {}): RateLimitStoreFactory<Promise<Decision>> {
  checkRedisOptions(options);
  if (client === null || typeof client !== 'object' || typeof client.defineCommand !== 'function') {
    throw new InvalidOptionError('client must be an ioredis Redis or Cluster');
  }
  return (spec) => new RedisStore(client, spec, options);
}
