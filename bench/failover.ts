/**
 * Failover of HTTP clients over three upstreams (issue #18 §3): undici's Pool to one host (the
 * ceiling), BalancedPool over three, BalancedPool with undici's retry interceptor, and nines'
 * FailoverDispatcher (its defaults, with `healthCheck: true`).
 *
 *   npm run bench:failover          (= npm run build && node bench/failover.ts; about 4 minutes)
 *   node bench/failover.ts --quick  (1 s per scenario: a smoke run)
 *   node bench/failover.ts --cpu    (only the closed-loop CPU comparison)
 *
 * Env knobs: BENCH_DURATION (s measured per implementation × scenario, default 10), BENCH_RATE
 * (req/s, default 2000), BENCH_DEADLINE (ms per request, default 5000: a caller's patience, above
nines' 2 s per-try timeout so a request stuck on a hanging host can still be retried), BENCH_ROUNDS (default 1;
 * above 1, latencies, CPU and times are medians over rounds and counts are summed), BENCH_ONLY=<regex
 * on "implementation/scenario">, BENCH_NINES=<path of another build's failover/index.js>.
 *
 * Method. Every implementation × scenario gets three fresh upstreams, each a node:http server in its
 * own child process (test/support/upstream.ts: keep-alive 65 s, 127.0.0.1, port 0), and a fresh
 * client. Load is open loop in this process (bench/lib/open-loop.ts): GET /work at BENCH_RATE,
 * sent on schedule whether or not earlier requests have answered, latency from the time a request
 * was due, each aborted BENCH_DEADLINE ms after it was due (outcome `deadline`). 1 s of warm-up at
 * the same rate (not counted), then the measured run, in which the third upstream ("bad host")
 * fails at 30 % of the duration:
 *   healthy  nothing happens;
 *   kill     SIGKILL;
 *   503      it answers 503 to everything;
 *   hang     SIGSTOP (the kernel still accepts connections; nothing answers: a black hole);
 *   restart  SIGKILL at 20 %, restarted on the same port at 50 %.
 * The Pool ceiling runs only `healthy` (it talks to the first upstream alone).
 *
 * Attempts that reached the bad host are counted on the client side, from undici's diagnostics
 * channel `undici:request:create`: every request a per-host undici Client accepted for the bad host's
 * origin after the fault (retries included, since each is a new request there). A dead host cannot
 * count what it never received, and a stopped one counts nothing while stopped; for `503` the bad
 * host's own counter is printed beside it as a check (`srv`). Every client here, nines' included,
 * ends in an undici Client per host, so the count is the same for all. "After 1st fail" counts those
 * created after the first of them failed (its error, from `undici:request:error`, reached the
 * client): the attempts sent while the host was dying but nothing had failed yet are ones no client
 * can spare, and the issue's target is on the rest ("after its first failure"). "Time to eject" is from the
 * first attempt at the bad host after the fault (which fails) to the last one; "never" when it still
 * got attempts in the last second of the run. "Time to restore" is from the restarted process
 * listening to the first request it served (its own counter, epoch ms on the same machine).
 * CPU µs/req is this process's user + system time over the measured run per request sent: the load
 * generator's cost is in it, the same for every client, so differences between clients are what
 * counts. Every client is called the same way, `dispatcher.request({ path, method, signal })` (nines
 * with `origin: 'http://api'` added): undici's top-level `request(url)` parses the URL, about 1 µs
 * that is the caller's, not the dispatcher's. RSS is the highest sampled during the run (one process
 * for all runs: it only grows).
 * Stdout gets exactly one JSON line; everything human-readable goes to stderr.
 *
 * Targets (nines only; the peers are shown against them): 0 failed GETs when one of three is killed,
 * answers 503 or hangs; at most 5 attempts reach the killed host after its first failure; the
 * restarted host serves within 3 s; healthy throughput (ok per second) at least BalancedPool's; CPU
 * per request within 5 µs of Pool's.
 */
import { subscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BalancedPool, type Dispatcher, interceptors, Pool } from 'undici';
import { startUpstreams, type Upstream } from '../test/support/upstream.ts';
import { log, median, pad } from './lib/common.ts';
import { type LoadEvent, type OpenLoopResult, openLoop } from './lib/open-loop.ts';

// ---------------------------------------------------------------------------------------------------
// Configuration

const QUICK = process.argv.includes('--quick');
/** Only the closed-loop CPU phase. */
const CPU_ONLY = process.argv.includes('--cpu');
const DURATION_S = Number(process.env.BENCH_DURATION ?? (QUICK ? 1 : 10));
const WARMUP_S = QUICK ? 0.3 : 1;
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const NINES_PATH = process.env.BENCH_NINES ?? fileURLToPath(new URL('../dist/failover/index.js', import.meta.url));
/** A host still getting attempts this close to the end was never ejected. */
const NEVER_EJECTED_MS = 1000;
const PATH = '/work';

/** nines in the CPU phase over the first upstream only, as Pool. */
const NINES_ONE_HOST = 'nines (1 host)';
const TARGET = { failedGets: 0, attemptsAfterFirstFailure: 5, restoreMs: 3000, cpuUsOverPool: 5 };

type Scenario = 'healthy' | 'kill' | '503' | 'hang' | 'restart';
const SCENARIOS: readonly Scenario[] = ['healthy', 'kill', '503', 'hang', 'restart'];
/** Fraction of the measured run at which the bad host fails (and, for restart, comes back). */
const FAULT_AT = { fault: 0.3, restartKill: 0.2, restartBack: 0.5 };

/** A client under test: sends GET /work through its dispatcher. */
interface Client {
  send: (signal: AbortSignal) => Promise<number>;
  close: () => Promise<void>;
}

interface Implementation {
  name: string;
  /** Only the healthy scenario (Pool talks to one host). */
  healthyOnly?: boolean;
  make: (origins: readonly string[]) => Client;
}

function viaDispatcher(dispatcher: Dispatcher, close: () => Promise<void>): Client {
  return {
    async send(signal) {
      const res = await dispatcher.request({ path: PATH, method: 'GET', signal });
      await res.body.dump();
      return res.statusCode;
    },
    close,
  };
}

const PEERS: Implementation[] = [
  {
    name: 'Pool (1 host)',
    healthyOnly: true,
    make: ([origin]) => {
      const pool = new Pool(origin as string);
      return viaDispatcher(pool, () => pool.close());
    },
  },
  {
    name: 'BalancedPool',
    make: (origins) => {
      const pool = new BalancedPool([...origins]);
      return viaDispatcher(pool, () => pool.close());
    },
  },
  {
    name: 'BalancedPool+retry',
    make: (origins) => {
      const pool = new BalancedPool([...origins]);
      // undici's defaults: 5 retries from 500 ms doubling, on 500/502/503/504/429 and connection errors.
      return viaDispatcher(pool.compose(interceptors.retry()), () => pool.close());
    },
  },
];

/**
 * The CPU control: one plain Pool per host, taken in turn, with no health, retries or balancing.
 * What spreading over three upstream processes costs by itself (more sockets, more processes to
 * wake), so a client's own cost over three hosts is what it adds to this.
 */
const ROUND_ROBIN: Implementation = {
  name: 'Pools round robin (3 hosts)',
  healthyOnly: true,
  make: (origins) => {
    const pools = origins.map((o) => new Pool(o));
    let next = 0;
    return {
      async send(signal) {
        const res = await (pools[next++ % pools.length] as Pool).request({ path: PATH, method: 'GET', signal });
        await res.body.dump();
        return res.statusCode;
      },
      close: async () => {
        await Promise.all(pools.map((p) => p.close()));
      },
    };
  },
};

/** nines' FailoverDispatcher from the build, or why not. */
async function loadNines(): Promise<Implementation | string> {
  if (!existsSync(NINES_PATH)) return `${NINES_PATH} not found`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(NINES_PATH).href)) as Record<string, unknown>;
  } catch (err) {
    return `import failed: ${(err as Error).message}`;
  }
  const FailoverDispatcher = mod.FailoverDispatcher as (new (options: unknown) => Dispatcher) | undefined;
  if (typeof FailoverDispatcher !== 'function') return `${NINES_PATH} does not export FailoverDispatcher`;
  return {
    name: 'nines',
    make: (origins) => {
      // ---- nines is plugged in here: default options, one tier of the three upstreams. ----
      const dispatcher = new FailoverDispatcher({ tiers: [{ endpoints: [...origins] }], healthCheck: true });
      return {
        async send(signal) {
          // The peers' call (dispatcher.request, no URL to parse) with the logical origin added.
          const res = await dispatcher.request({ origin: 'http://api', path: PATH, method: 'GET', signal });
          await res.body.dump();
          return res.statusCode;
        },
        close: () => dispatcher.close(),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Attempts per origin, from undici's diagnostics channel

/** performance.now() of every request an undici Client created for `origin`, while armed. */
const attempts = new Map<string, number[]>();
/** performance.now() of every error (reset, refused, timeout) such a request ended with, while armed. */
const failures = new Map<string, number[]>();
const armed = (map: Map<string, number[]>) => (message: unknown) => {
  const { origin, path } = (message as { request: { origin?: unknown; path?: unknown } }).request;
  if (path === '/readiness') return; // nines' health probes are not attempts of a request
  const times = typeof origin === 'string' ? map.get(origin) : undefined;
  times?.push(performance.now());
};
subscribe('undici:request:create', armed(attempts));
subscribe('undici:request:error', armed(failures));

// ---------------------------------------------------------------------------------------------------
// One implementation × scenario

type RunFigure = 'badAttempts' | 'badServerCount' | 'ejectMs' | 'ejected' | 'restoreMs';
type LoadFigure = 'p50Ms' | 'p99Ms' | 'p999Ms' | 'cpuUsPerRequest' | 'rssMaxMb' | 'lagMaxMs';

interface Run {
  implementation: string;
  scenario: Scenario;
  load: OpenLoopResult;
  okPerSec: number;
  failed: number;
  /** Attempts at the bad host after the fault (before the restart, for `restart`). */
  badAttempts: number | null;
  /** Of those, the ones created after the first of them failed (its error reached the client). */
  afterFirstFailure: number | null;
  /** The bad host's own count of 503 answers (scenario 503). */
  badServerCount: number | null;
  ejectMs: number | null;
  ejected: boolean | null;
  restoreMs: number | null;
}

function faultEvents(scenario: Scenario, bad: Upstream, durationMs: number): LoadEvent[] {
  const at = (f: number) => f * durationMs;
  switch (scenario) {
    case 'healthy':
      return [];
    case 'kill':
      return [{ name: 'fault', atMs: at(FAULT_AT.fault), run: () => bad.kill('SIGKILL') }];
    case '503':
      return [{ name: 'fault', atMs: at(FAULT_AT.fault), run: () => bad.setMode('503') }];
    case 'hang':
      return [{ name: 'fault', atMs: at(FAULT_AT.fault), run: () => bad.pause() }];
    case 'restart':
      return [
        { name: 'fault', atMs: at(FAULT_AT.restartKill), run: () => bad.kill('SIGKILL') },
        { name: 'restart', atMs: at(FAULT_AT.restartBack), run: () => bad.restart() },
      ];
  }
}

async function runOne(impl: Implementation, scenario: Scenario): Promise<Run> {
  const upstreams = await startUpstreams(3);
  const bad = upstreams[2] as Upstream;
  const client = impl.make(upstreams.map((u) => u.origin));
  const durationMs = DURATION_S * 1000;
  try {
    await openLoop(client.send, { rate: RATE, durationMs: WARMUP_S * 1000, deadlineMs: DEADLINE_MS });
    const times: number[] = [];
    const failedAt: number[] = [];
    attempts.set(bad.origin, times);
    failures.set(bad.origin, failedAt);
    const load = await openLoop(client.send, {
      rate: RATE,
      durationMs,
      deadlineMs: DEADLINE_MS,
      events: faultEvents(scenario, bad, durationMs),
    });
    attempts.delete(bad.origin);
    failures.delete(bad.origin);
    const failed = Object.entries(load.outcomes).reduce((n, [k, v]) => (k === 'ok' ? n : n + v), 0);
    const run: Run = {
      implementation: impl.name,
      scenario,
      load,
      okPerSec: (load.outcomes.ok ?? 0) / DURATION_S,
      failed,
      badAttempts: null,
      afterFirstFailure: null,
      badServerCount: null,
      ejectMs: null,
      ejected: null,
      restoreMs: null,
    };
    const fault = load.events.fault;
    if (fault !== undefined) {
      const from = load.startedAt + fault.startMs;
      const restart = load.events.restart;
      const until = restart === undefined ? Number.POSITIVE_INFINITY : load.startedAt + restart.startMs;
      const after = times.filter((t) => t >= from && t < until);
      run.badAttempts = after.length;
      // Attempts sent before any had failed had nothing to go on: no client can spare those.
      const firstFailure = failedAt.find((t) => t >= from && t < until);
      run.afterFirstFailure = firstFailure === undefined ? 0 : after.filter((t) => t > firstFailure).length;
      const end = restart === undefined ? load.startedAt + durationMs : until;
      if (after.length > 0) {
        const last = after[after.length - 1] as number;
        run.ejected = end - last > NEVER_EJECTED_MS;
        run.ejectMs = run.ejected ? last - (after[0] as number) : null;
      }
    }
    if (scenario === '503') run.badServerCount = (await bad.stats()).byMode['503'];
    if (scenario === 'restart' && load.events.restart !== undefined) {
      const { firstAt } = await bad.stats();
      const back = load.events.restart.endEpochMs;
      run.restoreMs = firstAt === null || !Number.isFinite(back) ? null : Math.max(0, firstAt - back);
    }
    return run;
  } finally {
    attempts.delete(bad.origin);
    failures.delete(bad.origin);
    await client.close().catch(() => {});
    await Promise.all(upstreams.map((u) => u.close()));
  }
}

// ---------------------------------------------------------------------------------------------------
// Summary over rounds, table, targets

/** One implementation × scenario over every round: counts summed, figures the median (RSS, lag: the highest). */
interface Summary extends Pick<Run, 'implementation' | 'scenario' | 'okPerSec' | RunFigure>, Pick<OpenLoopResult, LoadFigure> {
  sent: number;
  ok: number;
  failedByCode: Record<string, number>;
  /** The most bad-host attempts of one round (one fault): `badAttempts` sums the rounds. */
  badAttemptsWorstRound: number | null;
  /** The most attempts after the first failure in one round. */
  afterFirstFailureWorstRound: number | null;
}

function summarize(runs: readonly Run[]): Summary {
  const first = runs[0] as Run;
  const failedByCode: Record<string, number> = {};
  let ok = 0;
  let sent = 0;
  for (const r of runs) {
    sent += r.load.sent;
    for (const [k, v] of Object.entries(r.load.outcomes)) {
      if (k === 'ok') ok += v;
      else failedByCode[k] = (failedByCode[k] ?? 0) + v;
    }
  }
  const sumOrNull = (f: (r: Run) => number | null) => (runs.some((r) => f(r) !== null) ? runs.reduce((n, r) => n + (f(r) ?? 0), 0) : null);
  const medOrNull = (f: (r: Run) => number | null) => {
    const m = median(runs.map((r) => f(r) ?? Number.NaN));
    return Number.isFinite(m) ? m : null;
  };
  return {
    implementation: first.implementation,
    scenario: first.scenario,
    sent,
    ok,
    failedByCode,
    okPerSec: median(runs.map((r) => r.okPerSec)),
    badAttempts: sumOrNull((r) => r.badAttempts),
    badAttemptsWorstRound: runs.some((r) => r.badAttempts !== null) ? Math.max(...runs.map((r) => r.badAttempts ?? 0)) : null,
    afterFirstFailureWorstRound: runs.some((r) => r.afterFirstFailure !== null)
      ? Math.max(...runs.map((r) => r.afterFirstFailure ?? 0))
      : null,
    badServerCount: sumOrNull((r) => r.badServerCount),
    ejectMs: medOrNull((r) => r.ejectMs),
    ejected: first.ejected === null ? null : runs.every((r) => r.ejected === true),
    restoreMs: medOrNull((r) => r.restoreMs),
    p50Ms: median(runs.map((r) => r.load.p50Ms)),
    p99Ms: median(runs.map((r) => r.load.p99Ms)),
    p999Ms: median(runs.map((r) => r.load.p999Ms)),
    cpuUsPerRequest: median(runs.map((r) => r.load.cpuUsPerRequest)),
    rssMaxMb: Math.max(...runs.map((r) => r.load.rssMaxMb)),
    lagMaxMs: Math.max(...runs.map((r) => r.load.lagMaxMs)),
  };
}

const fmt = (x: number | null, digits = 0): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(digits));

function failedText(s: Summary): string {
  const parts = Object.entries(s.failedByCode)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${v} ${k}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

function ejectText(s: Summary): string {
  if (s.ejected === null) return '-';
  return s.ejected ? `${fmt(s.ejectMs)} ms` : 'never';
}

function table(summaries: readonly Summary[]): void {
  const cols: [string, number, boolean][] = [
    ['implementation', 19, false],
    ['scenario', 8, false],
    ['ok/s', 6, true],
    ['bad-host attempts', 17, true],
    ['after 1st fail', 14, true],
    ['eject', 9, true],
    ['restore', 8, true],
    ['p50 ms', 7, true],
    ['p99 ms', 7, true],
    ['p99.9 ms', 8, true],
    ['CPU µs/req', 10, true],
    ['RSS MB', 6, true],
    ['failed (by code)', 16, false],
  ];
  log('');
  log(cols.map(([h, w, r]) => pad(h, w, r)).join(' '));
  log('-'.repeat(cols.reduce((a, [, w]) => a + w + 1, 0)));
  for (const s of summaries) {
    const bad = s.badAttempts === null ? '-' : `${s.badAttempts}${s.badServerCount === null ? '' : ` (srv ${s.badServerCount})`}`;
    const cells = [
      s.implementation,
      s.scenario,
      fmt(s.okPerSec),
      bad,
      fmt(s.afterFirstFailureWorstRound),
      ejectText(s),
      s.restoreMs === null ? '-' : `${fmt(s.restoreMs)} ms`,
      fmt(s.p50Ms, 2),
      fmt(s.p99Ms, 1),
      fmt(s.p999Ms, 1),
      fmt(s.cpuUsPerRequest, 1),
      fmt(s.rssMaxMb),
      failedText(s),
    ];
    log(cells.map((c, i) => pad(c, cols[i]?.[1] ?? 8, cols[i]?.[2] ?? false)).join(' '));
  }
}

interface Target {
  measured: number | null;
  limit: number;
  pass: boolean | null;
}

/** The issue's targets, evaluated for `name` (nines, or a peer to show where it stands). */
function targetsFor(name: string, summaries: readonly Summary[], cpu: CpuFigures | undefined): Record<string, Target> {
  const get = (impl: string, scenario: Scenario) => summaries.find((s) => s.implementation === impl && s.scenario === scenario);
  const atMost = (measured: number | null | undefined, limit: number): Target => ({
    measured: measured ?? null,
    limit,
    pass: measured === null || measured === undefined ? null : measured <= limit,
  });
  const failed = (s: Summary | undefined) => (s === undefined ? null : s.sent - s.ok);
  const healthy = get(name, 'healthy');
  const balanced = get('BalancedPool', 'healthy');
  const pool = get('Pool (1 host)', 'healthy');
  const kill = get(name, 'kill');
  const throughput = healthy && balanced ? healthy.okPerSec / balanced.okPerSec : null;
  // The closed-loop figures when there are some: the open-loop ones carry the generator's noise.
  const cpuOver = cpu?.overPool[name] ?? (healthy && pool ? healthy.cpuUsPerRequest - pool.cpuUsPerRequest : null);
  // A host never ejected keeps getting attempts: the count after the first failure is then unbounded.
  // Per kill, so the worst round: the summed count covers several kills.
  const afterFirst = kill?.afterFirstFailureWorstRound;
  return {
    failedGetsKill: atMost(failed(kill), TARGET.failedGets),
    failedGets503: atMost(failed(get(name, '503')), TARGET.failedGets),
    failedGetsHang: atMost(failed(get(name, 'hang')), TARGET.failedGets),
    attemptsAfterFirstFailureKill: atMost(afterFirst, TARGET.attemptsAfterFirstFailure),
    restoreMs: atMost(get(name, 'restart')?.restoreMs, TARGET.restoreMs),
    healthyThroughputVsBalancedPool: { measured: throughput, limit: 1, pass: throughput === null ? null : throughput >= 0.99 },
    cpuUsOverPool: atMost(cpuOver, TARGET.cpuUsOverPool),
    // The client's own cost: over the same hosts as the baseline, so spreading's kernel cost cancels.
    cpuUsOverRoundRobinSameHosts: atMost(cpu?.overRoundRobin[name], TARGET.cpuUsOverPool),
    ...(name === 'nines' && cpu?.overPool[NINES_ONE_HOST] !== undefined
      ? { cpuUsOverPoolSameHost: atMost(cpu.overPool[NINES_ONE_HOST], TARGET.cpuUsOverPool) }
      : {}),
  };
}

/** Closed-loop CPU figures: µs per request, and the per-round differences against two baselines. */
interface CpuFigures {
  /** Median over rounds of this process's CPU µs per request. */
  perRequest: Record<string, number>;
  /** Median over rounds of (implementation − Pool to one host) in the same round. */
  overPool: Record<string, number>;
  /** Median over rounds of (implementation − plain Pools round robin over the same three hosts) in the same round. */
  overRoundRobin: Record<string, number>;
}

/**
 * CPU per request without the load generator's timers: closed loop, 16 requests in flight, the
 * implementations alternating within each round over the same three healthy upstreams, so a busy
 * neighbour slows every one alike. Differences are paired within a round, then the median taken:
 * the machine's drift between rounds is larger than the differences.
 */
async function cpuClosedLoop(implementations: readonly Implementation[]): Promise<CpuFigures> {
  const N = QUICK ? 2_000 : 20_000;
  const ROUNDS_CPU = QUICK ? 1 : Math.max(9, ROUNDS);
  const upstreams = await startUpstreams(3);
  const origins = upstreams.map((u) => u.origin);
  const rounds: Array<Map<string, number>> = [];
  try {
    for (let round = 0; round < ROUNDS_CPU; round++) {
      const order = round % 2 === 0 ? implementations : [...implementations].reverse();
      const figures = new Map<string, number>();
      for (const impl of order) {
        const client = impl.make(origins);
        const run = async (n: number): Promise<void> => {
          let left = n;
          const worker = async (): Promise<void> => {
            while (left-- > 0) await client.send(AbortSignal.timeout(DEADLINE_MS));
          };
          await Promise.all(Array.from({ length: 16 }, worker));
        };
        await run(N / 10); // warm: connections open, code optimized
        const before = process.cpuUsage();
        await run(N);
        const used = process.cpuUsage(before);
        await client.close();
        figures.set(impl.name, (used.user + used.system) / N);
      }
      rounds.push(figures);
    }
  } finally {
    await Promise.all(upstreams.map((u) => u.close()));
  }
  const names = implementations.map((i) => i.name);
  const medianOf = (f: (r: Map<string, number>, name: string) => number | undefined) =>
    Object.fromEntries(
      names.flatMap((name) => {
        const xs = rounds.map((r) => f(r, name)).filter((x): x is number => x !== undefined);
        return xs.length === 0 ? [] : [[name, median(xs)]];
      }),
    );
  const diff = (base: string) => (r: Map<string, number>, name: string) => {
    const a = r.get(name);
    const b = r.get(base);
    return a === undefined || b === undefined || name === base ? undefined : a - b;
  };
  return {
    perRequest: medianOf((r, name) => r.get(name)),
    overPool: medianOf(diff('Pool (1 host)')),
    overRoundRobin: medianOf(diff(ROUND_ROBIN.name)),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const nines = await loadNines();
  const implementations = [...PEERS];
  const warnings: string[] = [];
  if (typeof nines === 'string') {
    log(`nines: FailoverDispatcher not built yet, skipped (${nines})`);
    warnings.push(`nines skipped: ${nines}`);
  } else implementations.push(nines);
  log(
    `bench:failover — ${RATE} req/s open loop, ${DURATION_S} s per run after ${WARMUP_S} s warm-up, deadline ${DEADLINE_MS} ms, ${ROUNDS} round(s), Node ${process.version}`,
  );

  const byKey = new Map<string, Run[]>();
  for (let round = 0; round < (CPU_ONLY ? 0 : ROUNDS); round++) {
    for (const impl of implementations) {
      for (const scenario of SCENARIOS) {
        if (impl.healthyOnly && scenario !== 'healthy') continue;
        const key = `${impl.name}/${scenario}`;
        if (ONLY && !ONLY.test(key)) continue;
        const run = await runOne(impl, scenario);
        if (run.load.lagMaxMs > 50) warnings.push(`${key}: the generator was up to ${run.load.lagMaxMs.toFixed(0)} ms late`);
        log(
          `  ${pad(key, 28)} ok ${run.load.outcomes.ok ?? 0}/${run.load.sent}  bad-host attempts ${run.badAttempts ?? '-'}  p99 ${run.load.p99Ms.toFixed(1)} ms`,
        );
        const list = byKey.get(key) ?? [];
        list.push(run);
        byKey.set(key, list);
      }
    }
  }
  const summaries = [...byKey.values()].map(summarize);
  table(summaries);
  // nines over the one host Pool talks to as well: the dispatcher's own cost, without the spread.
  const oneHost = typeof nines === 'string' ? [] : [{ name: NINES_ONE_HOST, make: (o: readonly string[]) => nines.make(o.slice(0, 1)) }];
  const cpu = ONLY ? undefined : await cpuClosedLoop([...implementations, ROUND_ROBIN, ...oneHost]);
  if (cpu !== undefined) {
    const list = (r: Record<string, number>, sign = false) =>
      Object.entries(r)
        .map(([n, us]) => `${n} ${sign && us >= 0 ? '+' : ''}${us.toFixed(1)}`)
        .join(', ');
    log('');
    log(`CPU µs/request, closed loop, 16 in flight, median of rounds: ${list(cpu.perRequest)}`);
    log(`  over Pool (1 host), paired per round: ${list(cpu.overPool, true)}`);
    log(`  over Pools round robin (3 hosts), paired per round: ${list(cpu.overRoundRobin, true)}`);
  }

  const targets: Record<string, Record<string, Target>> = {};
  for (const impl of implementations) if (!impl.healthyOnly) targets[impl.name] = targetsFor(impl.name, summaries, cpu);
  log('');
  log(`targets (${typeof nines === 'string' ? 'nines not built: the peers against them' : 'nines; the peers beside it'}):`);
  const names = Object.keys(targets);
  log(`  ${pad('target', 34)} ${pad('limit', 6, true)} ${names.map((n) => pad(n, 20, true)).join(' ')}`);
  for (const t of new Set(names.flatMap((n) => Object.keys(targets[n] ?? {})))) {
    const limit = names.map((n) => targets[n]?.[t]?.limit).find((l) => l !== undefined) ?? 0;
    const cells = names.map((n) => {
      const x = targets[n]?.[t];
      if (x === undefined || x.measured === null) return pad('-', 20, true);
      return pad(`${fmt(x.measured, Number.isInteger(x.measured) ? 0 : 2)} ${x.pass ? 'pass' : 'FAIL'}`, 20, true);
    });
    log(`  ${pad(t, 34)} ${pad(String(limit), 6, true)} ${cells.join(' ')}`);
  }
  for (const w of warnings) log(`warning: ${w}`);
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const out = {
    bench: 'failover',
    node: process.version,
    date: new Date().toISOString(),
    rounds: ROUNDS,
    config: {
      rateRps: RATE,
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      deadlineMs: DEADLINE_MS,
      upstreams: 3,
      faultAt: FAULT_AT,
      quick: QUICK,
    },
    nines: typeof nines === 'string' ? { skipped: nines } : { loaded: NINES_PATH },
    results: summaries,
    cpuClosedLoopUsPerRequest: cpu?.perRequest ?? {},
    cpuClosedLoopOverPool: cpu?.overPool ?? {},
    cpuClosedLoopOverRoundRobin: cpu?.overRoundRobin ?? {},
    targets,
    warnings,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
