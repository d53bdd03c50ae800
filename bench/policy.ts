/**
 * Overhead of nines policies against cockatiel 4 and opossum 10.
 *
 *   npm run bench:policy          (= npm run build && node --expose-gc bench/policy.ts)
 *
 * Env knobs: BENCH_ROUNDS (default 9), BENCH_TARGET_MS (wall time of one measured run, default 60),
 * BENCH_QUICK=1 (3 rounds, 20 ms runs; for smoke tests only), BENCH_ONLY=<regex on "path.mode|variant">,
 * BENCH_SKIP_WINDOW=1, BENCH_NINES=<path of another build's policy/index.js>.
 *
 * Method. Every (path, mode, variant) gets its own call count N, calibrated during warm-up so one run
 * takes about BENCH_TARGET_MS. Every run builds fresh policy objects (outside the timed region), so no
 * run inherits another's rolling window. Within a round the variants of one path×mode run back to back
 * in an order rotated every round, and `overhead` is the variant's ns/call minus `bare`'s ns/call
 * from the same round; the reported figure is the median over rounds.
 * Runs yield to the event loop (setImmediate) every YIELD_EVERY calls, as a server does between I/O
 * callbacks, so the event-loop-delay histogram (1 ms resolution; an idle loop reads about 1.05 ms)
 * sees the longest stretch a policy keeps the loop busy, including its timer callbacks.
 * Stdout gets exactly one JSON line; everything human-readable goes to stderr.
 *
 * Caveats. The failing fn throws one shared Error (a fresh Error per call would add ~2 µs to every
 * variant). Open-circuit errors are built by each library: cockatiel's and opossum's capture a stack
 * trace, nines' do not (on purpose: it would only show breaker internals). cockatiel's retry
 * sleeps through setTimeout even at 0 ms (≈1 ms per retry) and, like the hand-written opossum loop,
 * retries open-circuit rejections; nines' default retryOn does not (see att/call). opossum's rolling
 * window keeps every latency for 10 s, so its cost per failure and its heap grow with N.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  CircuitState,
  ConsecutiveBreaker,
  ConstantBackoff,
  circuitBreaker as cockatielBreaker,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  handleAll,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import Opossum from 'opossum';
import { log, median, pad } from './lib/common.ts';

/** BENCH_NINES=/abs/path/policy/index.js benchmarks another build of nines (A/B of a change) against the same peers. */
const nines: typeof import('nines/policy') = await import(process.env.BENCH_NINES ?? 'nines/policy');
const { CircuitBreaker, compose, retry, timeout } = nines;

// ---------------------------------------------------------------------------------------------------
// Configuration

const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 9));
const TARGET_MS = Number(process.env.BENCH_TARGET_MS ?? (QUICK ? 20 : 60));
const CONCURRENCY = 100;
/** Calls between two event-loop turns: one batch of concurrent calls, or as many sequential ones. */
const YIELD_EVERY = CONCURRENCY;
const MIN_CALLS = 20;
const MAX_CALLS = 5_000_000;
const LONG_OPEN_MS = 3_600_000;
/** Optional filter for profiling, matched against "path.mode|variant", e.g. BENCH_ONLY='^failure.sequential\|(bare|nines.pipeline)$'. */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const SKIP_WINDOW = process.env.BENCH_SKIP_WINDOW === '1';

const gcFn = globalThis.gc;
if (typeof gcFn !== 'function') {
  console.error('run with --expose-gc: node --expose-gc bench/policy.ts');
  process.exit(2);
}
const gc: () => void = () => {
  gcFn();
};

type PathName = 'success' | 'fastfail' | 'failure';
type Mode = 'sequential' | 'concurrent';
const PATHS: readonly PathName[] = ['success', 'fastfail', 'failure'];
const MODES: readonly Mode[] = ['sequential', 'concurrent'];

// ---------------------------------------------------------------------------------------------------
// The functions under protection

/** One shared error: allocating an Error (and its stack) per call would dwarf every policy's cost. */
const FAILURE = new Error('dependency failed');
let failCalls = 0;
const succeed = async () => 1;
const fail = async (): Promise<number> => {
  failCalls++;
  throw FAILURE;
};

// ---------------------------------------------------------------------------------------------------
// Variants: each `make` returns a fresh instance (policy objects + the call to time)

interface Instance {
  /** One protected call. */
  call: () => Promise<unknown>;
  /** Held until after the heap is measured. */
  keep: unknown;
  /** True when the breaker is in the state the path requires (closed, or open for `fastfail`). */
  check: () => boolean;
  /** Retries counted by the library's own events (only when built with `instrument`). */
  retries?: () => number;
  dispose?: () => void;
}

interface Variant {
  name: string;
  /** The nines variant this one is compared with in the `ratio` column. */
  peerOf: string | undefined;
  paths: readonly PathName[];
  make: (path: PathName, instrument: boolean) => Promise<Instance>;
}

const always = () => true;

async function tripWith(exec: () => Promise<unknown>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    try {
      await exec();
    } catch {}
  }
}

function ninesBreakerOptions(path: PathName) {
  if (path === 'fastfail') return { openDuration: LONG_OPEN_MS };
  if (path === 'failure') return { failureThreshold: Number.POSITIVE_INFINITY };
  return {};
}

function cockatielBreakerFor(path: PathName) {
  return cockatielBreaker(handleAll, {
    halfOpenAfter: path === 'fastfail' ? LONG_OPEN_MS : 60_000,
    breaker: new ConsecutiveBreaker(path === 'failure' ? Number.MAX_SAFE_INTEGER : 5),
  });
}

/** opossum binds its action at construction; this one fails while `tripping` is set. */
function opossumFor(path: PathName, options: Opossum.Options = {}): { breaker: Opossum; stopTripping: () => void } {
  let tripping = path === 'fastfail';
  const fn = path === 'success' ? succeed : path === 'failure' ? fail : () => (tripping ? fail() : succeed());
  const o: Opossum.Options = { ...options };
  if (path === 'fastfail') o.resetTimeout = LONG_OPEN_MS;
  if (path === 'failure') {
    o.errorThresholdPercentage = 101; // errorRate > 101 never holds
    o.volumeThreshold = Number.MAX_SAFE_INTEGER;
  }
  return {
    breaker: new Opossum(fn, o),
    stopTripping: () => {
      tripping = false;
    },
  };
}

/** The hand-written retry loop an opossum user writes: 3 attempts, no delay, retries every error. */
async function opossumWithRetry(breaker: Opossum): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await breaker.fire();
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

const fnFor = (path: PathName) => (path === 'failure' ? fail : succeed);

const VARIANTS: readonly Variant[] = [
  {
    name: 'bare',
    peerOf: undefined,
    paths: PATHS,
    async make(path) {
      const fn = fnFor(path);
      return { call: () => fn(), keep: fn, check: always };
    },
  },
  {
    name: 'nines.breaker',
    peerOf: 'nines.breaker',
    paths: PATHS,
    async make(path) {
      const breaker = new CircuitBreaker(ninesBreakerOptions(path));
      if (path === 'fastfail') await tripWith(() => breaker.execute(fail), 5);
      const fn = fnFor(path);
      const want = path === 'fastfail' ? 'open' : 'closed';
      return { call: () => breaker.execute(fn), keep: breaker, check: () => breaker.state === want };
    },
  },
  {
    name: 'nines.pipeline',
    peerOf: 'nines.pipeline',
    paths: PATHS,
    async make(path, instrument) {
      const breaker = new CircuitBreaker(ninesBreakerOptions(path));
      const r = retry({
        maxAttempts: 3,
        backoff: { type: 'constant', delay: 0 },
        ...(path === 'failure' ? { budget: false as const } : {}),
      });
      const policy = compose(r, breaker, timeout(10_000, { strategy: 'cooperative' }));
      if (path === 'fastfail') await tripWith(() => breaker.execute(fail), 5);
      let retries = 0;
      if (instrument) r.on('retry', () => retries++);
      const fn = fnFor(path);
      const want = path === 'fastfail' ? 'open' : 'closed';
      return { call: () => policy.execute(fn), keep: policy, check: () => breaker.state === want, retries: () => retries };
    },
  },
  {
    name: 'nines.pipeline+budget',
    peerOf: 'nines.pipeline',
    paths: ['failure'],
    async make(path, instrument) {
      const breaker = new CircuitBreaker(ninesBreakerOptions(path));
      const r = retry({ maxAttempts: 3, backoff: { type: 'constant', delay: 0 } }); // default budget
      const policy = compose(r, breaker, timeout(10_000, { strategy: 'cooperative' }));
      let retries = 0;
      if (instrument) r.on('retry', () => retries++);
      const fn = fnFor(path);
      return { call: () => policy.execute(fn), keep: policy, check: () => breaker.state === 'closed', retries: () => retries };
    },
  },
  {
    name: 'cockatiel.breaker',
    peerOf: 'nines.breaker',
    paths: PATHS,
    async make(path) {
      const breaker = cockatielBreakerFor(path);
      if (path === 'fastfail') await tripWith(() => breaker.execute(fail), 5);
      const fn = fnFor(path);
      const want = path === 'fastfail' ? CircuitState.Open : CircuitState.Closed;
      return { call: () => breaker.execute(fn), keep: breaker, check: () => breaker.state === want };
    },
  },
  {
    name: 'cockatiel.pipeline',
    peerOf: 'nines.pipeline',
    paths: PATHS,
    async make(path, instrument) {
      const breaker = cockatielBreakerFor(path);
      // cockatiel's maxAttempts counts retries only: 2 here == nines' maxAttempts 3.
      const r = cockatielRetry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) });
      const policy = wrap(r, breaker, cockatielTimeout(10_000, TimeoutStrategy.Cooperative));
      if (path === 'fastfail') await tripWith(() => breaker.execute(fail), 5);
      let retries = 0;
      if (instrument) r.onRetry(() => retries++);
      const fn = fnFor(path);
      const want = path === 'fastfail' ? CircuitState.Open : CircuitState.Closed;
      return { call: () => policy.execute(fn), keep: policy, check: () => breaker.state === want, retries: () => retries };
    },
  },
  {
    name: 'opossum.breaker',
    peerOf: 'nines.breaker',
    paths: PATHS,
    async make(path) {
      const { breaker, stopTripping } = opossumFor(path);
      if (path === 'fastfail') await tripWith(() => breaker.fire(), 1);
      stopTripping();
      const want = path === 'fastfail';
      return {
        call: () => breaker.fire(),
        keep: breaker,
        check: () => breaker.opened === want,
        dispose: () => breaker.shutdown(),
      };
    },
  },
  {
    name: 'opossum.pipeline',
    peerOf: 'nines.pipeline',
    paths: PATHS,
    async make(path, instrument) {
      const { breaker, stopTripping } = opossumFor(path, { timeout: 10_000 });
      if (path === 'fastfail') await tripWith(() => breaker.fire(), 1);
      stopTripping();
      let fires = 0;
      let calls = 0;
      if (instrument) breaker.on('fire', () => fires++);
      const want = path === 'fastfail';
      return {
        call: instrument
          ? () => {
              calls++;
              return opossumWithRetry(breaker);
            }
          : () => opossumWithRetry(breaker),
        keep: breaker,
        check: () => breaker.opened === want,
        retries: () => fires - calls,
        dispose: () => breaker.shutdown(),
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------------
// Harness

interface Tally {
  ok: number;
  err: number;
}

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runSequential(call: () => Promise<unknown>, n: number, tally: Tally): Promise<void> {
  let i = 0;
  while (i < n) {
    const end = Math.min(n, i + YIELD_EVERY);
    for (; i < end; i++) {
      try {
        await call();
        tally.ok++;
      } catch {
        tally.err++;
      }
    }
    await macrotask();
  }
}

async function runConcurrent(call: () => Promise<unknown>, n: number, tally: Tally): Promise<void> {
  const one = async () => {
    try {
      await call();
      tally.ok++;
    } catch {
      tally.err++;
    }
  };
  const batch: Promise<void>[] = new Array(CONCURRENCY);
  let i = 0;
  while (i < n) {
    const end = Math.min(n, i + YIELD_EVERY);
    while (i < end) {
      const k = Math.min(CONCURRENCY, end - i);
      if (k < CONCURRENCY) batch.length = k;
      for (let j = 0; j < k; j++) batch[j] = one();
      await Promise.all(batch);
      i += k;
    }
    await macrotask();
  }
}

interface Sample {
  n: number;
  nsPerCall: number;
  heapRetainedBytes: number;
  eldP99Ms: number | null;
  attemptsPerCall: number;
  errors: number;
  stateOk: boolean;
}

/** Keeps the measured instance reachable across the second GC. */
let keepAlive: unknown;

async function measure(variant: Variant, path: PathName, mode: Mode, n: number): Promise<Sample> {
  const inst = await variant.make(path, false);
  const tally: Tally = { ok: 0, err: 0 };
  const eld = monitorEventLoopDelay({ resolution: 1 });
  keepAlive = inst;
  gc();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const failsBefore = failCalls;
  eld.enable();
  const t0 = performance.now();
  if (mode === 'sequential') await runSequential(inst.call, n, tally);
  else await runConcurrent(inst.call, n, tally);
  const elapsedMs = performance.now() - t0;
  await new Promise((resolve) => setTimeout(resolve, 2)); // lets the ELD timer sample the last stretch
  eld.disable();
  const attempts = failCalls - failsBefore;
  gc();
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const stateOk = inst.check();
  (keepAlive as Instance).dispose?.();
  keepAlive = undefined;
  return {
    n,
    nsPerCall: (elapsedMs * 1e6) / n,
    heapRetainedBytes: heapAfter - heapBefore,
    eldP99Ms: eld.count > 0 ? eld.percentile(99) / 1e6 : null,
    attemptsPerCall: path === 'failure' ? attempts / n : Number.NaN,
    errors: tally.err,
    stateOk,
  };
}

/** Scales `n` towards a TARGET_MS run, by at most ×4 either way, in whole batches. */
function rescale(n: number, ms: number, mode: Mode): number {
  const step = mode === 'concurrent' ? CONCURRENCY : 1;
  const next = Math.min(n * 4, Math.max(n / 4, (n * TARGET_MS) / Math.max(ms, 0.01)));
  const clamped = Math.max(MIN_CALLS, Math.min(MAX_CALLS, next));
  return Math.max(step, Math.round(clamped / step) * step);
}

/** Finds N so one run lasts about TARGET_MS; the runs double as JIT warm-up. */
async function calibrate(variant: Variant, path: PathName, mode: Mode): Promise<number> {
  let n = mode === 'concurrent' ? CONCURRENCY * 2 : 200;
  let inRange = 0;
  for (let i = 0; i < 10 && inRange < 2; i++) {
    const s = await measure(variant, path, mode, n);
    const ms = (s.nsPerCall * n) / 1e6;
    inRange = ms >= TARGET_MS * 0.7 && ms <= TARGET_MS * 1.4 ? inRange + 1 : 0;
    n = rescale(n, ms, mode);
  }
  return n;
}

/** Retries per call as the libraries' own events count them (paths where fn is never called). */
async function attemptsByEvents(variant: Variant, path: PathName): Promise<number> {
  const inst = await variant.make(path, true);
  const calls = 50;
  const tally: Tally = { ok: 0, err: 0 };
  await runSequential(inst.call, calls, tally);
  const retries = inst.retries ? inst.retries() : 0;
  inst.dispose?.();
  return 1 + retries / calls;
}

// ---------------------------------------------------------------------------------------------------
// Rolling-window cost: a failure when the window already holds many calls

interface WindowPoint {
  windowCalls: number;
  failures: number;
  nsPerFailure: number;
}

async function windowCost(lib: 'opossum' | 'nines.time', windowCalls: number): Promise<WindowPoint> {
  let failing = false;
  const action = () => (failing ? fail() : succeed());
  let exec: () => Promise<unknown>;
  let dispose = () => {};
  if (lib === 'opossum') {
    const b = new Opossum(action, { errorThresholdPercentage: 101, volumeThreshold: Number.MAX_SAFE_INTEGER });
    exec = () => b.fire();
    dispose = () => b.shutdown();
    keepAlive = b;
  } else {
    const b = new CircuitBreaker({
      mode: 'time',
      windowDuration: 10_000, // opossum's default rolling window
      failureRateThreshold: 100,
      minimumThroughput: Number.MAX_SAFE_INTEGER,
    });
    exec = () => b.execute(action);
    keepAlive = b;
  }
  // Fill the window quickly (concurrent batches); both windows span 10 s, so nothing ages out.
  await runConcurrent(exec, windowCalls, { ok: 0, err: 0 });
  failing = true;
  const maxFailures = 5000;
  const budgetMs = 1500;
  let failures = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (failures < maxFailures) {
    try {
      await exec();
    } catch {}
    failures++;
    if ((failures & 15) === 0) {
      elapsed = performance.now() - t0;
      if (elapsed > budgetMs) break;
      await macrotask();
    }
  }
  elapsed = performance.now() - t0;
  dispose();
  keepAlive = undefined;
  return { windowCalls, failures, nsPerFailure: (elapsed * 1e6) / failures };
}

// ---------------------------------------------------------------------------------------------------
// Statistics and output

const round1 = (x: number) => (Number.isFinite(x) ? Math.round(x * 10) / 10 : null);
const round3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

function rotate<T>(xs: readonly T[], k: number): T[] {
  const s = k % xs.length;
  return [...xs.slice(s), ...xs.slice(0, s)];
}

function fmt(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// ---------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const started = performance.now();
  const combos: Array<{ key: string; path: PathName; mode: Mode; variants: Variant[] }> = [];
  for (const path of PATHS) {
    for (const mode of MODES) {
      const key = `${path}.${mode}`;
      const variants = VARIANTS.filter((v) => v.paths.includes(path) && (v.name === 'bare' || !ONLY || ONLY.test(`${key}|${v.name}`)));
      if (variants.length > 1 || !ONLY) combos.push({ key, path, mode, variants });
    }
  }

  log(`nines policy bench — node ${process.version}, ${ROUNDS} rounds, ~${TARGET_MS} ms per run, concurrency ${CONCURRENCY}`);
  log('calibrating (doubles as warm-up)…');
  const sizes = new Map<string, number>();
  for (const c of combos) {
    for (const v of c.variants) sizes.set(`${c.key}|${v.name}`, await calibrate(v, c.path, c.mode));
  }
  const eventAttempts = new Map<string, number>();
  for (const v of VARIANTS) if (v.paths.includes('fastfail')) eventAttempts.set(v.name, await attemptsByEvents(v, 'fastfail'));

  const samples = new Map<string, Sample[]>();
  const overheads = new Map<string, number[]>();
  const warnings = new Set<string>();
  const WARMUP_ROUNDS = 2;
  for (let round = -WARMUP_ROUNDS; round < ROUNDS; round++) {
    // negative rounds warm up at full size and are not recorded; the first also re-fits N to the warm JIT
    for (const c of combos) {
      const bareRound: Map<string, number> = new Map();
      for (const v of rotate(c.variants, round + 1)) {
        const n = sizes.get(`${c.key}|${v.name}`) ?? MIN_CALLS;
        const s = await measure(v, c.path, c.mode, n);
        if (!s.stateOk) warnings.add(`${c.key} ${v.name}: breaker not in the expected state after the run`);
        const wantErrors = c.path === 'success' || (c.path === 'fastfail' && v.name === 'bare') ? 0 : n;
        if (s.errors !== wantErrors) warnings.add(`${c.key} ${v.name}: ${s.errors} errors, expected ${wantErrors}`);
        if (round === -WARMUP_ROUNDS) sizes.set(`${c.key}|${v.name}`, rescale(n, (s.nsPerCall * n) / 1e6, c.mode));
        if (round < 0) continue;
        const key = `${c.key}|${v.name}`;
        samples.set(key, [...(samples.get(key) ?? []), s]);
        bareRound.set(v.name, s.nsPerCall);
      }
      if (round < 0) continue;
      const bare = bareRound.get('bare') ?? Number.NaN;
      for (const [name, ns] of bareRound) {
        const key = `${c.key}|${name}`;
        overheads.set(key, [...(overheads.get(key) ?? []), ns - bare]);
      }
    }
    log(round < 0 ? 'warm-up round done' : `round ${round + 1}/${ROUNDS} done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }

  // Aggregate
  interface Result {
    n: number;
    nsPerCall: number | null;
    nsPerCallMin: number | null;
    nsPerCallMax: number | null;
    overheadNs: number | null;
    overheadVsNines: number | null;
    heapRetainedBytes: number;
    eldP99Ms: number | null;
    attemptsPerCall: number | null;
  }
  const results: Record<string, Record<string, Result>> = {};
  for (const c of combos) {
    const row: Record<string, Result> = {};
    for (const v of c.variants) {
      const ss = samples.get(`${c.key}|${v.name}`) ?? [];
      const ns = ss.map((s) => s.nsPerCall);
      const attempts =
        c.path === 'success' ? 1 : c.path === 'failure' ? median(ss.map((s) => s.attemptsPerCall)) : (eventAttempts.get(v.name) ?? 1);
      row[v.name] = {
        n: sizes.get(`${c.key}|${v.name}`) ?? 0,
        nsPerCall: round1(median(ns)),
        nsPerCallMin: round1(Math.min(...ns)),
        nsPerCallMax: round1(Math.max(...ns)),
        overheadNs: v.name === 'bare' ? 0 : round1(median(overheads.get(`${c.key}|${v.name}`) ?? [])),
        overheadVsNines: null,
        heapRetainedBytes: Math.round(median(ss.map((s) => s.heapRetainedBytes))),
        eldP99Ms: round3(median(ss.map((s) => s.eldP99Ms ?? Number.NaN))),
        attemptsPerCall: round3(attempts),
      };
    }
    for (const v of c.variants) {
      const r = row[v.name];
      const ref = v.peerOf === undefined ? undefined : row[v.peerOf];
      if (r && ref && r.overheadNs !== null && ref.overheadNs !== null && ref.overheadNs > 0) {
        r.overheadVsNines = round3(r.overheadNs / ref.overheadNs);
      }
    }
    results[c.key] = row;
  }

  // Rolling-window section
  log('rolling window: cost of one failure with W calls already in the window…');
  const window: Record<string, WindowPoint[]> = { opossum: [], 'nines.time': [] };
  for (const w of SKIP_WINDOW ? [] : [0, 20_000, 200_000]) {
    for (const lib of ['nines.time', 'opossum'] as const) {
      gc();
      window[lib]?.push(await windowCost(lib, w));
    }
  }

  // Targets
  const ss = results['success.sequential'] ?? {};
  const fc = results['failure.concurrent'] ?? {};
  const ratio = (a: Result | undefined, b: Result | undefined) =>
    a && b && a.overheadNs !== null && b.overheadNs !== null && b.overheadNs > 0 ? round3(a.overheadNs / b.overheadNs) : null;
  const target = (measured: number | null, limit: number, unit: string, cmp: 'le' | 'lt') => ({
    measured,
    limit,
    unit,
    pass: measured !== null && (cmp === 'le' ? measured <= limit : measured < limit),
  });
  const stormEld = Math.max(fc['nines.breaker']?.eldP99Ms ?? Number.NaN, fc['nines.pipeline']?.eldP99Ms ?? Number.NaN);
  const targets = {
    breakerVsCockatiel: target(ratio(ss['nines.breaker'], ss['cockatiel.breaker']), 0.5, 'overhead ratio, success.sequential', 'le'),
    breakerVsOpossum: target(ratio(ss['nines.breaker'], ss['opossum.breaker']), 0.1, 'overhead ratio, success.sequential', 'le'),
    pipelineVsCockatiel: target(ratio(ss['nines.pipeline'], ss['cockatiel.pipeline']), 0.1, 'overhead ratio, success.sequential', 'le'),
    failureStormEld: target(
      Number.isFinite(stormEld) ? round3(stormEld) : null,
      10,
      'ms ELD p99, failure.concurrent, max of nines.breaker/pipeline',
      'lt',
    ),
  };

  // Table
  const cols: Array<[string, number, boolean]> = [
    ['variant', 22, false],
    ['path', 9, false],
    ['mode', 11, false],
    ['N', 9, true],
    ['ns/call', 11, true],
    ['overhead ns', 12, true],
    ['× nines', 8, true],
    ['heap KB', 9, true],
    ['ELD p99 ms', 11, true],
    ['att/call', 9, true],
  ];
  log('');
  log(cols.map(([h, w, r]) => pad(h, w, r)).join(' '));
  log('-'.repeat(cols.reduce((a, [, w]) => a + w + 1, 0)));
  for (const c of combos) {
    for (const v of c.variants) {
      const r = results[c.key]?.[v.name];
      if (!r) continue;
      const cells = [
        v.name,
        c.path,
        c.mode,
        fmt(r.n),
        fmt(r.nsPerCall),
        v.name === 'bare' ? '' : fmt(r.overheadNs),
        v.peerOf === undefined ? '' : fmt(r.overheadVsNines, 2),
        fmt(r.heapRetainedBytes / 1024, 1),
        fmt(r.eldP99Ms, 2),
        fmt(r.attemptsPerCall, 2),
      ];
      log(cells.map((cell, i) => pad(cell, cols[i]?.[1] ?? 8, cols[i]?.[2] ?? false)).join(' '));
    }
    log('');
  }
  log('rolling window (ns per failure, window pre-filled with W successes):');
  log(`${pad('W', 10, true)} ${pad('nines.time', 14, true)} ${pad('opossum', 14, true)} ${pad('opossum failures timed', 24, true)}`);
  for (let i = 0; i < (window.opossum?.length ?? 0); i++) {
    const o = window.opossum?.[i];
    const t = window['nines.time']?.[i];
    log(
      `${pad(fmt(o?.windowCalls), 10, true)} ${pad(fmt(t?.nsPerFailure), 14, true)} ${pad(fmt(o?.nsPerFailure), 14, true)} ${pad(fmt(o?.failures), 24, true)}`,
    );
  }
  log('');
  log('targets:');
  for (const [name, t] of Object.entries(targets)) {
    log(
      `  ${pad(name, 20)} ${pad(String(t.measured ?? '-'), 8, true)} ${t.unit.startsWith('ms') ? '<' : '≤'} ${t.limit}  ${t.pass ? 'PASS' : 'FAIL'}  (${t.unit})`,
    );
  }
  for (const w of warnings) log(`warning: ${w}`);
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const out = {
    bench: 'policy',
    node: process.version,
    date: new Date().toISOString(),
    rounds: ROUNDS,
    config: { targetMsPerRun: TARGET_MS, concurrency: CONCURRENCY, yieldEvery: YIELD_EVERY, eldResolutionMs: 1 },
    results,
    window,
    targets,
    warnings: [...warnings],
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
