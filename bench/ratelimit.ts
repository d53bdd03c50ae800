/**
 * nines' rate limiters against rate-limiter-flexible 11 (RateLimiterMemory) and express-rate-limit
 * 8's MemoryStore.
 *
 *   npm run bench:ratelimit       (= npm run build && node --expose-gc bench/ratelimit.ts)
 *
 * Env knobs: BENCH_ROUNDS (default 5), BENCH_CALLS (calls per run, default 1e6), BENCH_KEYS (keys
 * they spread over, default 1,000), BENCH_HELD (distinct keys of the memory part, default 1e6),
 * BENCH_ONLY=<regex on the variant name>, BENCH_NINES=<path of another build's ratelimit/index.js>.
 *
 * Method. Memory decisions: every run builds a fresh limiter per variant (outside the timed region)
 * and times BENCH_CALLS calls, key i % BENCH_KEYS, one after the other as a request handler would
 * make them: nines' memory store answers at once, so its calls are plain calls (`nines … awaited`
 * adds the `await` a caller on the async interface pays); the peers' answers are promises, each
 * awaited. `allowed`: a limit no call reaches. `rejected`: a limit of 1, spent on every key before
 * timing, so every timed call is refused (rate-limiter-flexible rejects its promise with a
 * RateLimiterRes, caught; express-rate-limit's store only counts, so its refusal is the
 * middleware's comparison `totalHits > limit`, done here). One warm-up run per variant, then
 * BENCH_ROUNDS rounds, the variants of a path in an order rotated every round; decisions/s is the
 * median over rounds and `× rlf` the median of the ratio within one round (drift cancels).
 * Memory held: for each variant a child process (this file with `--held <variant>`, so timers and
 * heap of one library cannot reach another's figure) spends once on each of BENCH_HELD distinct
 * keys; the figure is heapUsed + arrayBuffers after two gcs, less the same before, and the timers
 * are the `Timeout` resources an async hook saw created (unref'd ones too). Median over BENCH_ROUNDS children
 * (memory is deterministic enough; the count of timers is exact).
 * Stdout gets exactly one JSON line; everything human-readable goes to stderr.
 *
 * Caveats. The key strings are built once and shared, so no variant pays for them (their heap is in
 * no variant's figure: they exist before the "before" measurement). nines' memory store holds at most
 * `maxKeys` (default 100,000): `nines default` shows that bound, `nines maxKeys 1e6` holds every key
 * as the peers do. Peers run with their defaults otherwise.
 *
 * Redis decisions: BENCH_REDIS_CALLS (default 50,000) calls over the same keys, BENCH_IN_FLIGHT
 * (default 50) at a time from one process and one ioredis connection per run, against
 * NINES_BENCH_REDIS_URL (default NINES_TEST_REDIS_URL, then redis://127.0.0.1:6379), for nines'
 * Redis store (its defaults: breaker, 200 ms timeout, cache of refused keys), rate-limiter-flexible's
 * RateLimiterRedis (defaults; and, on the rejected path, with its own `inMemoryBlockOnConsumed`) and,
 * as the floor of one round trip, raw ioredis `INCR` (and, for scale, `INCR` on a client with
 * `enableAutoPipelining`: nines sends a tick's decisions in one script call, which is the same idea). Latency is each call's, p50/p99 over the run;
 * medians over rounds as above, ratios within a round. Each run uses its own key prefix, deleted after.
 * Without Redis the section is skipped and says so (`redis.skipped` in the JSON line).
 */
import { createHook } from 'node:async_hooks';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MemoryStore as ExpressMemoryStore } from 'express-rate-limit';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { log, median, pad } from './lib/common.ts';

const nines: typeof import('nines/ratelimit') = await import(process.env.BENCH_NINES ?? 'nines/ratelimit');

// ---------------------------------------------------------------------------------------------------
// Configuration

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 1_000_000);
const KEYS = Number(process.env.BENCH_KEYS ?? 1000);
const HELD = Number(process.env.BENCH_HELD ?? 1_000_000);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
/** Long enough that no window ends during a run. */
const WINDOW_MS = 3_600_000;
const TARGET_VS_RLF = 2.5;
const REDIS_URL = process.env.NINES_BENCH_REDIS_URL ?? process.env.NINES_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_CALLS = Number(process.env.BENCH_REDIS_CALLS ?? 50_000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 50);
const REDIS_TARGETS = { allowedVsRlf: 1.2, allowedVsIncr: 0.7, rejectedVsRlf: 5 };

const gcFn = globalThis.gc;
if (typeof gcFn !== 'function') {
  console.error('run with --expose-gc: node --expose-gc bench/ratelimit.ts');
  process.exit(2);
}
const gc = () => {
  gcFn();
  gcFn();
};

type Path = 'allowed' | 'rejected';
const PATHS: readonly Path[] = ['allowed', 'rejected'];

// ---------------------------------------------------------------------------------------------------
// Variants: each `make` returns one decision function on a fresh limiter; true when allowed

type Decide = (key: string) => boolean | Promise<boolean>;

interface Variant {
  name: string;
  /** True when `decide` answers with a promise, to be awaited. */
  async: boolean;
  make(limit: number): Decide;
}

const ninesVariant = (algorithm: import('nines/ratelimit').AlgorithmKind, awaited = false): Variant => ({
  name: `nines ${algorithm}${awaited ? ' awaited' : ''}`,
  async: awaited,
  make(limit) {
    const limiter = nines.rateLimiter({ algorithm, limit, windowDuration: WINDOW_MS });
    return awaited ? async (key) => limiter.consume(key).allowed : (key) => limiter.consume(key).allowed;
  },
});

const ALL_VARIANTS: readonly Variant[] = [
  ninesVariant('fixed-window'),
  ninesVariant('sliding-window'),
  ninesVariant('token-bucket'),
  ninesVariant('gcra'),
  ninesVariant('sliding-log'),
  ninesVariant('sliding-window', true),
  {
    name: 'rate-limiter-flexible',
    async: true,
    make(limit) {
      const limiter = new RateLimiterMemory({ points: limit, duration: WINDOW_MS / 1000 });
      return (key) =>
        limiter.consume(key).then(
          () => true,
          () => false,
        );
    },
  },
  {
    name: 'express-rate-limit',
    async: true,
    make(limit) {
      const store = new ExpressMemoryStore();
      store.init({ windowMs: WINDOW_MS } as Parameters<ExpressMemoryStore['init']>[0]);
      return async (key) => (await store.increment(key)).totalHits <= limit;
    },
  },
];
const VARIANTS = ALL_VARIANTS.filter((v) => ONLY === undefined || ONLY.test(v.name));

const RLF = 'rate-limiter-flexible';
const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`);

// ---------------------------------------------------------------------------------------------------
// Memory decisions per second

/** A fresh limiter of `v` ready for `path`: on `rejected`, every key already spent its one unit. */
async function prepare(v: Variant, path: Path): Promise<Decide> {
  // sliding-log holds one timestamp per unit: its allowed path gets the largest limit it takes
  const limit = path === 'rejected' ? 1 : v.name.includes('sliding-log') ? nines.SLIDING_LOG_MAX_LIMIT : 1e6;
  const decide = v.make(limit);
  if (path === 'rejected') for (const key of keys) await decide(key);
  return decide;
}

/** Decisions per second over CALLS calls; throws if one decision was not the path's. */
async function timeRun(v: Variant, path: Path): Promise<number> {
  const decide = await prepare(v, path);
  // the sliding log's allowed path spreads over enough keys that none reaches its limit
  const spread = path === 'allowed' && v.name.includes('sliding-log') ? Math.ceil(CALLS / nines.SLIDING_LOG_MAX_LIMIT) + 1 : KEYS;
  const spreadKeys = spread === KEYS ? keys : Array.from({ length: spread }, (_, i) => `user:${i}`);
  const want = path === 'allowed';
  let wrong = 0;
  gc();
  const start = performance.now();
  if (v.async) {
    for (let i = 0; i < CALLS; i++) if ((await decide(spreadKeys[i % spread] as string)) !== want) wrong++;
  } else {
    for (let i = 0; i < CALLS; i++) if (decide(spreadKeys[i % spread] as string) !== want) wrong++;
  }
  const seconds = (performance.now() - start) / 1000;
  if (wrong > 0) throw new Error(`${v.name} ${path}: ${wrong} decisions were not ${path}`);
  return CALLS / seconds;
}

async function decisions(): Promise<Record<Path, Record<string, { perSecond: number; vsRlf: number | null }>>> {
  const out = { allowed: {}, rejected: {} } as Record<Path, Record<string, { perSecond: number; vsRlf: number | null }>>;
  for (const path of PATHS) {
    for (const v of VARIANTS) await timeRun(v, path); // warm-up
    const runs = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
    const ratios = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);
      const thisRound = new Map<string, number>();
      for (const v of order) thisRound.set(v.name, await timeRun(v, path));
      const rlf = thisRound.get(RLF);
      for (const [name, perSecond] of thisRound) {
        runs.get(name)?.push(perSecond);
        if (rlf !== undefined) ratios.get(name)?.push(perSecond / rlf);
      }
      log(`  ${path} round ${round + 1}/${ROUNDS}`);
    }
    for (const v of VARIANTS) {
      const r = ratios.get(v.name) ?? [];
      out[path][v.name] = { perSecond: Math.round(median(runs.get(v.name) ?? [])), vsRlf: r.length > 0 ? round2(median(r)) : null };
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Memory and timers held with HELD distinct keys, one child process per measurement

const HELD_VARIANTS: Record<string, () => (key: string) => unknown> = {
  'nines default': () => {
    const limiter = nines.rateLimiter({ limit: 100, windowDuration: WINDOW_MS });
    return (key) => limiter.consume(key);
  },
  'nines maxKeys 1e6': () => {
    const limiter = nines.rateLimiter({ limit: 100, windowDuration: WINDOW_MS, store: nines.memoryStore({ maxKeys: HELD }) });
    return (key) => limiter.consume(key);
  },
  [RLF]: () => {
    const limiter = new RateLimiterMemory({ points: 100, duration: WINDOW_MS / 1000 });
    return (key) => limiter.consume(key);
  },
  'express-rate-limit': () => {
    const store = new ExpressMemoryStore();
    store.init({ windowMs: WINDOW_MS } as Parameters<ExpressMemoryStore['init']>[0]);
    return (key) => store.increment(key);
  },
};

/**
 * Timers set since the child started, unref'd ones included (getActiveResourcesInfo lists only
 * ref'd ones). None fires or is cleared during the measurement (distinct keys, an hour's window),
 * so this is the number held.
 */
let timersSet = 0;
/** The child's limiter and keys, reachable until measured (so the keys' heap is in neither measurement). */
let kept: unknown;

/** In the child: spends once on each of HELD keys and prints what is held. */
async function heldChild(name: string): Promise<void> {
  const make = HELD_VARIANTS[name];
  if (make === undefined) throw new Error(`no held variant ${name}`);
  createHook({
    init(_id, type) {
      if (type === 'Timeout') timersSet++;
    },
  }).enable();
  const distinct = Array.from({ length: HELD }, (_, i) => `client:${i}`);
  gc();
  const before = process.memoryUsage();
  const decide = make();
  kept = [decide, distinct];
  for (const key of distinct) await decide(key);
  gc();
  const after = process.memoryUsage();
  const bytes = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
  process.stdout.write(`${JSON.stringify({ bytes, timers: timersSet, held: kept !== undefined })}\n`);
  process.exit(0); // rate-limiter-flexible's timers are unref'd, but a million of them take a while to drop
}

function held(): Record<string, { megabytes: number; bytesPerKey: number; timers: number }> {
  const out: Record<string, { megabytes: number; bytesPerKey: number; timers: number }> = {};
  const self = fileURLToPath(import.meta.url);
  for (const name of Object.keys(HELD_VARIANTS)) {
    if (ONLY !== undefined && !ONLY.test(name)) continue;
    const bytes: number[] = [];
    const held: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawnSync(process.execPath, ['--expose-gc', self, '--held', name], { encoding: 'utf8', env: process.env });
      if (child.status !== 0) throw new Error(`held ${name}: exit ${child.status}: ${child.stderr}`);
      const r = JSON.parse(child.stdout) as { bytes: number; timers: number };
      bytes.push(r.bytes);
      held.push(r.timers);
    }
    const b = median(bytes);
    out[name] = { megabytes: round2(b / 1e6), bytesPerKey: Math.round(b / HELD), timers: median(held) };
    log(`  held ${name}: ${fmt(b / 1e6, 1)} MB, ${median(held)} timers`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Redis: decisions/s with IN_FLIGHT requests in flight, and their latency

type RedisPath = 'allowed' | 'rejected';
interface RedisVariant {
  name: string;
  /** Runs on a client with ioredis' `enableAutoPipelining` (commands of one tick in one write). */
  autoPipelining?: boolean;
  /** A decision function on a fresh limiter of `limit` per key, keys under `prefix`. */
  make(client: Redis, limit: number, prefix: string): Decide;
}

const ninesRedis = (algorithm: import('nines/ratelimit').AlgorithmKind): RedisVariant => ({
  name: `nines ${algorithm}`,
  make(client, limit, prefix) {
    const limiter = nines.rateLimiter({ algorithm, limit, windowDuration: WINDOW_MS, store: nines.redisStore(client, { prefix }) });
    return async (key) => (await limiter.consume(key)).allowed;
  },
});

const RLF_REDIS = 'rate-limiter-flexible';
const INCR = 'ioredis INCR';
const REDIS_VARIANTS: readonly RedisVariant[] = [
  ninesRedis('fixed-window'),
  ninesRedis('sliding-window'),
  ninesRedis('token-bucket'),
  ninesRedis('gcra'),
  {
    name: RLF_REDIS,
    make(client, limit, prefix) {
      const limiter = new RateLimiterRedis({ storeClient: client, points: limit, duration: WINDOW_MS / 1000, keyPrefix: prefix });
      return (key) =>
        limiter.consume(key).then(
          () => true,
          (e: unknown) => {
            if (e instanceof Error) throw e; // a Redis error, not a refusal
            return false;
          },
        );
    },
  },
  {
    // its own answer to a flood of refusals: refused keys held in memory until their window ends
    name: `${RLF_REDIS} inMemoryBlock`,
    make(client, limit, prefix) {
      const limiter = new RateLimiterRedis({
        storeClient: client,
        points: limit,
        duration: WINDOW_MS / 1000,
        keyPrefix: prefix,
        inMemoryBlockOnConsumed: limit,
      });
      return (key) =>
        limiter.consume(key).then(
          () => true,
          (e: unknown) => {
            if (e instanceof Error) throw e;
            return false;
          },
        );
    },
  },
  {
    // the floor of one round trip on one key: a counter with no expiry, no script, no decision
    name: INCR,
    make(client, limit, prefix) {
      return async (key) => (await client.incr(`${prefix}:${key}`)) <= limit;
    },
  },
  {
    // for scale only: what batching a tick's commands into one write does for a plain INCR
    name: `${INCR} autopipelined`,
    autoPipelining: true,
    make(client, limit, prefix) {
      return async (key) => (await client.incr(`${prefix}:${key}`)) <= limit;
    },
  },
];

interface RedisFigure {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Deletes every key under `prefix`. */
async function dropKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

let runNo = 0;

/** REDIS_CALLS decisions by IN_FLIGHT lanes on a fresh limiter of `v`; throws if one was not the path's. */
async function timeRedisRun(clients: Clients, v: RedisVariant, path: RedisPath): Promise<RedisFigure> {
  const client = v.autoPipelining ? clients.pipelined : clients.plain;
  const prefix = `nines-bench:${process.pid}:${runNo++}`;
  const limit = path === 'rejected' ? 1 : 1e6;
  const decide = v.make(client, limit, prefix);
  if (path === 'rejected') for (const key of keys) await decide(key);
  const latencies = new Float64Array(REDIS_CALLS);
  const want = path === 'allowed';
  let next = 0;
  let wrong = 0;
  const lane = async () => {
    for (let i = next++; i < REDIS_CALLS; i = next++) {
      const t = performance.now();
      if ((await decide(keys[i % KEYS] as string)) !== want) wrong++;
      latencies[i] = performance.now() - t;
    }
  };
  gc();
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const seconds = (performance.now() - start) / 1000;
  await dropKeys(client, prefix);
  if (wrong > 0) throw new Error(`${v.name} ${path}: ${wrong} decisions were not ${path}`);
  latencies.sort();
  const at = (q: number) => round3(latencies[Math.min(REDIS_CALLS - 1, Math.floor(q * REDIS_CALLS))] as number);
  return { perSecond: REDIS_CALLS / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

type RedisResults = Record<RedisPath, Record<string, RedisFigure & { vsRlf: number | null; vsIncr: number | null }>>;

interface Clients {
  plain: Redis;
  pipelined: Redis;
}

async function redis(): Promise<RedisResults | { skipped: string }> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const clients = { plain: client, pipelined: new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableAutoPipelining: true }) };
  for (const c of Object.values(clients)) c.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    for (const c of Object.values(clients)) c.disconnect();
    const reason = `Redis not reachable at ${REDIS_URL}: ${(error as Error).message}`;
    log(`  redis: SKIPPED, ${reason}`);
    return { skipped: reason };
  }
  const variants = REDIS_VARIANTS.filter((v) => ONLY === undefined || ONLY.test(v.name));
  const out = { allowed: {}, rejected: {} } as RedisResults;
  for (const path of PATHS) {
    const pathVariants = variants.filter((v) => path === 'rejected' || !v.name.includes('inMemoryBlock'));
    for (const v of pathVariants) await timeRedisRun(clients, v, path); // warm-up
    const runs = new Map<string, RedisFigure[]>(pathVariants.map((v) => [v.name, []]));
    const vsRlf = new Map<string, number[]>(pathVariants.map((v) => [v.name, []]));
    const vsIncr = new Map<string, number[]>(pathVariants.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = pathVariants.map((_, i) => pathVariants[(i + round) % pathVariants.length] as RedisVariant);
      const thisRound = new Map<string, RedisFigure>();
      for (const v of order) thisRound.set(v.name, await timeRedisRun(clients, v, path));
      const rlf = thisRound.get(RLF_REDIS)?.perSecond;
      const incr = thisRound.get(INCR)?.perSecond;
      for (const [name, f] of thisRound) {
        runs.get(name)?.push(f);
        if (rlf !== undefined) vsRlf.get(name)?.push(f.perSecond / rlf);
        if (incr !== undefined) vsIncr.get(name)?.push(f.perSecond / incr);
      }
      log(`  redis ${path} round ${round + 1}/${ROUNDS}`);
    }
    for (const v of pathVariants) {
      const f = runs.get(v.name) ?? [];
      const ratio = (m: Map<string, number[]>) => {
        const r = m.get(v.name) ?? [];
        return r.length > 0 ? round2(median(r)) : null;
      };
      out[path][v.name] = {
        perSecond: Math.round(median(f.map((x) => x.perSecond))),
        p50Ms: round3(median(f.map((x) => x.p50Ms))),
        p99Ms: round3(median(f.map((x) => x.p99Ms))),
        vsRlf: ratio(vsRlf),
        vsIncr: ratio(vsIncr),
      };
    }
  }
  for (const c of Object.values(clients)) c.disconnect();
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Report

const round2 = (x: number) => Math.round(x * 100) / 100;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const fmt = (x: number | null | undefined, digits = 0) =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main(): Promise<void> {
  const started = performance.now();
  log(`nines ratelimit bench: ${CALLS} calls over ${KEYS} keys, ${HELD} keys held, ${ROUNDS} rounds, node ${process.version}`);
  const memory = await decisions();
  const heldKeys = held();
  const redisFigures = await redis();

  const targets: Record<string, { measured: number | null; limit: number; pass: boolean; unit: string }> = {};
  for (const path of PATHS) {
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
      const measured = memory[path][`nines ${algorithm}`]?.vsRlf ?? null;
      if (measured === null) continue;
      targets[`${path} ${algorithm}`] = {
        measured,
        limit: TARGET_VS_RLF,
        pass: measured >= TARGET_VS_RLF,
        unit: `× rate-limiter-flexible decisions/s, ${path}`,
      };
    }
  }

  log('');
  log(
    `${pad('memory decisions/s', 34)} ${pad('allowed', 12, true)} ${pad('× rlf', 7, true)} ${pad('rejected', 12, true)} ${pad('× rlf', 7, true)}`,
  );
  log('-'.repeat(76));
  for (const v of VARIANTS) {
    const a = memory.allowed[v.name];
    const r = memory.rejected[v.name];
    log(
      `${pad(v.name, 34)} ${pad(fmt(a?.perSecond), 12, true)} ${pad(fmt(a?.vsRlf, 2), 7, true)} ${pad(fmt(r?.perSecond), 12, true)} ${pad(fmt(r?.vsRlf, 2), 7, true)}`,
    );
  }
  log('');
  log(`${pad(`held with ${fmt(HELD)} distinct keys`, 34)} ${pad('MB', 10, true)} ${pad('B/key', 8, true)} ${pad('timers', 10, true)}`);
  log('-'.repeat(65));
  for (const [name, h] of Object.entries(heldKeys)) {
    log(`${pad(name, 34)} ${pad(fmt(h.megabytes, 1), 10, true)} ${pad(fmt(h.bytesPerKey), 8, true)} ${pad(fmt(h.timers), 10, true)}`);
  }
  if (!('skipped' in redisFigures)) {
    log('');
    log(
      `${pad(`redis, ${IN_FLIGHT} in flight`, 34)} ${pad('decisions/s', 12, true)} ${pad('p50 ms', 8, true)} ${pad('p99 ms', 8, true)} ${pad('× rlf', 7, true)} ${pad('× INCR', 7, true)}`,
    );
    for (const path of PATHS) {
      log(`${path}:`);
      for (const [name, f] of Object.entries(redisFigures[path])) {
        log(
          `  ${pad(name, 32)} ${pad(fmt(f.perSecond), 12, true)} ${pad(fmt(f.p50Ms, 3), 8, true)} ${pad(fmt(f.p99Ms, 3), 8, true)} ${pad(fmt(f.vsRlf, 2), 7, true)} ${pad(fmt(f.vsIncr, 2), 7, true)}`,
        );
      }
    }
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
      const a = redisFigures.allowed[`nines ${algorithm}`];
      const r = redisFigures.rejected[`nines ${algorithm}`];
      const put = (name: string, measured: number | null | undefined, limit: number, unit: string) => {
        if (measured === null || measured === undefined) return;
        targets[name] = { measured, limit, pass: measured >= limit, unit };
      };
      put(`redis allowed ${algorithm}`, a?.vsRlf, REDIS_TARGETS.allowedVsRlf, '× rate-limiter-flexible decisions/s, allowed');
      put(`redis allowed ${algorithm} vs INCR`, a?.vsIncr, REDIS_TARGETS.allowedVsIncr, '× raw INCR decisions/s, allowed');
      put(`redis rejected ${algorithm}`, r?.vsRlf, REDIS_TARGETS.rejectedVsRlf, '× rate-limiter-flexible decisions/s, rejected flood');
    }
  }
  log('');
  log('targets:');
  for (const [name, t] of Object.entries(targets)) {
    log(`  ${pad(name, 36)} ${pad(fmt(t.measured, 2), 7, true)} ≥ ${t.limit}  ${t.pass ? 'PASS' : 'FAIL'}  (${t.unit})`);
  }
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const out = {
    bench: 'ratelimit',
    node: process.version,
    date: new Date().toISOString(),
    rounds: ROUNDS,
    config: { calls: CALLS, keys: KEYS, held: HELD, windowMs: WINDOW_MS, redisCalls: REDIS_CALLS, inFlight: IN_FLIGHT },
    memory,
    held: heldKeys,
    redis: redisFigures,
    targets,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const heldAt = process.argv.indexOf('--held');
if (heldAt > 0) await heldChild(process.argv[heldAt + 1] as string);
else await main();
