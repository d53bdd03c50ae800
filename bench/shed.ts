/**
 * Load shedding under 3× overload: a node:http server with a CPU-bound handler, without and with
 * nines' LoadShedder in front.
 *
 *   npm run bench:shed          (= node bench/shed.ts; about 90 s)
 *
 * Env knobs: BENCH_ROUNDS (default 5), BENCH_DURATION (s of overload per run, default 4),
 * BENCH_OVERLOAD (multiple of the measured capacity offered, default 3), BENCH_WORK_MS (CPU ms per
 * request, default 2), BENCH_CONNECTIONS (default 256), BENCH_PIN=0 (no CPU pinning), BENCH_TRACE=1
 * (each run's answers, shed and latency per 250 ms of due time, on stderr).
 *
 * Method. Each run starts its server in a fresh child process (bench/shed/server.ts), so the load
 * generator (undici, in this process) never shares an event loop with it; with taskset and 2+ CPUs
 * the generator is pinned to CPU 0 and the server to CPU 1. Every server is first warmed up for 1 s
 * closed loop, a request in flight on each connection (so JIT and connections are ready). In each
 * round the server without shedder then measures the capacity, the same closed loop for 2 s:
 * capacity = answered per second. After a 0.5 s pause, each variant (without, then with the
 * shedder) gets the same open-loop load: requests sent at fixed intervals at BENCH_OVERLOAD × capacity for
 * BENCH_DURATION s over BENCH_CONNECTIONS keep-alive connections (a request waits in undici's queue
 * when every connection is busy), priorities low, normal, low, normal, high in turn (40/40/20 %),
 * plus a `critical` GET /health every 50 ms. Latency is measured from the time a request was due to
 * be sent, not from when it went out, so a server that falls behind is not flattered (no coordinated
 * omission). After the last request the run waits up to 3 s for answers; a request still unanswered
 * then counts as unanswered, with an infinite latency in the percentiles. The server reports its
 * event-loop delay over the overload (monitorEventLoopDelay, beyond its 10 ms resolution) and its
 * event-loop utilisation; its CPU time share (from /proc) and this process's own event-loop delay
 * tell when another process had the CPU, which a busy machine makes every figure worse (warnings).
 * Goodput counts admitted answers that arrived during the overload. Figures are medians over
 * rounds; counts are summed.
 * Stdout gets exactly one JSON line; everything human-readable goes to stderr.
 *
 * Targets (with the shedder, default options): admitted p99 ≤ 200 ms (the controller's bound: a
 * request admitted while overloaded met at most targetDelay × level of event-loop delay, 40 ms for
 * high, plus the batch of work before it); goodput ≥ 70 % of capacity; low shed at least as often as
 * normal, normal as high, critical never; the critical probe's p99 ≤ 200 ms and the event loop's
 * longest delay ≤ 250 ms (the process never stalls); no errors and nothing unanswered. Without the
 * shedder the same figures are shown, as the contrast: no target.
 */
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { type Child, startChild, stopChild } from './lib/child-server.ts';
import { cpuSeconds, log, median, pad, pinSelf } from './lib/common.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 4);
const OVERLOAD = Number(process.env.BENCH_OVERLOAD ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 256);
const CAPACITY_S = 2;
const WARMUP_S = 1;
/** Pause between the warm-up and the overload, so the shedder starts from a quiet loop. */
const SETTLE_MS = 500;
/** Above this the generator itself was late, and its latencies with it. */
const GENERATOR_LAG_MS = 50;
/** Below this share of the wall time on CPU, a saturated server was starved by something else. */
const CONTENDED_CPU = 0.9;
const DRAIN_S = 3;
const PROBE_EVERY_MS = 50;
const FIXTURE = fileURLToPath(new URL('./shed/server.ts', import.meta.url));
const CPUS = availableParallelism();
const PIN = process.env.BENCH_PIN !== '0' && CPUS >= 2 && pinSelf('0');

const TARGET = { admittedP99Ms: 200, goodput: 0.7, probeP99Ms: 200, loopMaxMs: 250 };

type Variant = 'off' | 'on';
type Lane = 'low' | 'normal' | 'high';
const MIX: readonly Lane[] = ['low', 'normal', 'low', 'normal', 'high'];
const LANES: readonly Lane[] = ['low', 'normal', 'high'];

interface LoopStats {
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  elu: number;
}

interface LaneCounts {
  sent: number;
  admitted: number[];
  /** Admitted requests answered before the overload's end: what goodput counts. */
  inWindow: number;
  shed: number;
  other: number;
  errors: number;
}

interface Run {
  rate: number;
  lanes: Record<Lane, LaneCounts>;
  probe: number[];
  probeFailed: number;
  probeUnanswered: number;
  loop: LoopStats;
  /** The server's CPU time over the overload's wall time: below 90 % something else had its CPU. */
  serverCpu: number;
  /** Longest event-loop delay of this process (the load generator) during the run. */
  generatorMaxMs: number;
}

function startServer(variant: Variant): Promise<Child> {
  return startChild(variant, [process.execPath, FIXTURE, variant], PIN ? '1' : undefined);
}

function ask(child: Child, message: 'reset' | 'stats'): Promise<LoopStats | undefined> {
  if (message === 'reset') {
    child.proc.send('reset');
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    child.proc.once('message', (m) => resolve(m as LoopStats));
    child.proc.send('stats');
  });
}

/** One GET; resolves with its status (0 on a network error) once the body has been read. */
async function get(pool: Pool, path: string, priority?: string): Promise<number> {
  try {
    const res = await pool.request({ path, method: 'GET', headers: priority ? { 'x-priority': priority } : {} });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

function newPool(child: Child): Pool {
  return new Pool(`http://127.0.0.1:${child.port}`, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });
}

/** Answered (200) requests per second, closed loop with a request in flight on every connection. */
async function closedLoop(pool: Pool, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) if ((await get(pool, '/')) === 200) done++;
    }),
  );
  return done / seconds;
}

/** Open-loop load at `rate` req/s for DURATION_S, latencies from each request's due time. */
async function overload(child: Child, pool: Pool, rate: number): Promise<Run> {
  const lanes = Object.fromEntries(
    LANES.map((l) => [l, { sent: 0, admitted: [], inWindow: 0, shed: 0, other: 0, errors: 0 }]),
  ) as unknown as Record<Lane, LaneCounts>;
  const probe: number[] = [];
  let probeFailed = 0;
  let closing = false; // requests destroyed with the pool after the drain are unanswered, not errors
  const generator = monitorEventLoopDelay({ resolution: 10 });
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.then(() => pending.delete(p));
  };
  const trace: [number, number, number][] = [];
  await ask(child, 'reset');
  generator.enable();
  const cpu0 = cpuSeconds(child.proc.pid);
  const t0 = performance.now();
  const total = Math.round(rate * DURATION_S);
  const probes = Math.floor((DURATION_S * 1000) / PROBE_EVERY_MS);
  let sent = 0;
  let probed = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      for (const due = Math.min(total, Math.floor((elapsed * rate) / 1000)); sent < due; sent++) {
        const lane = MIX[sent % MIX.length] as Lane;
        const dueAt = t0 + (sent * 1000) / rate;
        const counts = lanes[lane];
        counts.sent++;
        track(
          get(pool, '/', lane).then((status) => {
            if (process.env.BENCH_TRACE) trace.push([dueAt - t0, performance.now() - dueAt, status]);
            const now = performance.now();
            if (status === 200) {
              counts.admitted.push(now - dueAt);
              if (now - t0 <= DURATION_S * 1000) counts.inWindow++;
            } else if (status === 503) counts.shed++;
            else if (closing) return;
            else if (status === 0) counts.errors++;
            else counts.other++;
          }),
        );
      }
      for (const due = Math.min(probes, Math.floor(elapsed / PROBE_EVERY_MS)); probed < due; probed++) {
        const dueAt = t0 + probed * PROBE_EVERY_MS;
        track(
          get(pool, '/health').then((status) => {
            if (status === 200) probe.push(performance.now() - dueAt);
            else if (!closing) probeFailed++;
          }),
        );
      }
      if (sent < total || probed < probes) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const loop = (await ask(child, 'stats')) as LoopStats;
  const cpu1 = cpuSeconds(child.proc.pid);
  const serverCpu = cpu0 === undefined || cpu1 === undefined ? Number.NaN : (cpu1 - cpu0) / ((performance.now() - t0) / 1000);
  generator.disable();
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(pending), new Promise((r) => (drainTimer = setTimeout(r, DRAIN_S * 1000)))]);
  clearTimeout(drainTimer);
  closing = true;
  await pool.destroy();
  if (process.env.BENCH_TRACE) {
    for (let b = 0; b < DURATION_S * 4; b++) {
      const xs = trace.filter(([t]) => t >= b * 250 && t < (b + 1) * 250);
      const lat = xs.map(([, l]) => l).sort((a, c) => a - c);
      log(
        `    ${b * 250} ms: n ${xs.length} shed ${xs.filter(([, , st]) => st === 503).length} p50 ${fmt(lat[lat.length >> 1] ?? NaN)} max ${fmt(lat[lat.length - 1] ?? NaN)}`,
      );
    }
  }
  return {
    rate,
    lanes,
    probe,
    probeUnanswered: probes - probe.length - probeFailed,
    probeFailed,
    loop,
    serverCpu,
    generatorMaxMs: Math.max(0, generator.max / 1e6 - 10),
  };
}

/** The q-quantile of `answered` latencies, with `missing` more requests counted as infinitely late. */
function quantile(answered: readonly number[], missing: number, q: number): number {
  const n = answered.length + missing;
  if (n === 0) return Number.NaN;
  const rank = Math.ceil(q * n) - 1;
  if (rank >= answered.length) return Number.POSITIVE_INFINITY;
  return [...answered].sort((a, b) => a - b)[rank] as number;
}

interface Figures {
  admittedP50Ms: number;
  admittedP99Ms: number;
  p99ByLane: Record<Lane, number>;
  shedShare: number;
  shedByLane: Record<Lane, number>;
  goodput: number;
  probeP99Ms: number;
  probeFailed: number;
  generatorMaxMs: number;
  serverCpu: number;
  loopMaxMs: number;
  loopP99Ms: number;
  elu: number;
  errors: number;
  unanswered: number;
}

function figures(run: Run, cap: number): Figures {
  const all = LANES.map((l) => run.lanes[l]);
  const unansweredOf = (c: LaneCounts) => c.sent - c.admitted.length - c.shed - c.other - c.errors;
  const admitted = all.flatMap((c) => c.admitted);
  const unanswered = all.reduce((a, c) => a + unansweredOf(c), 0);
  const sent = all.reduce((a, c) => a + c.sent, 0);
  const byLane = <T>(f: (c: LaneCounts) => T) => Object.fromEntries(LANES.map((l) => [l, f(run.lanes[l])])) as Record<Lane, T>;
  return {
    admittedP50Ms: quantile(admitted, unanswered, 0.5),
    admittedP99Ms: quantile(admitted, unanswered, 0.99),
    p99ByLane: byLane((c) => quantile(c.admitted, unansweredOf(c), 0.99)),
    shedShare: all.reduce((a, c) => a + c.shed, 0) / sent,
    shedByLane: byLane((c) => c.shed / c.sent),
    goodput: all.reduce((a, c) => a + c.inWindow, 0) / DURATION_S / cap,
    probeP99Ms: quantile(run.probe, run.probeFailed + run.probeUnanswered, 0.99),
    probeFailed: run.probeFailed + run.probeUnanswered,
    generatorMaxMs: run.generatorMaxMs,
    serverCpu: run.serverCpu,
    loopMaxMs: run.loop.maxMs,
    loopP99Ms: run.loop.p99Ms,
    elu: run.loop.elu,
    errors: all.reduce((a, c) => a + c.errors + c.other, 0),
    unanswered,
  };
}

const fmt = (x: number, digits = 0): string => (x === Number.POSITIVE_INFINITY ? '∞' : Number.isFinite(x) ? x.toFixed(digits) : '-');
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '-');
const json = (x: number, digits = 1): number | string | null =>
  x === Number.POSITIVE_INFINITY ? 'Infinity' : Number.isFinite(x) ? Number(x.toFixed(digits)) : null;

/** Median that keeps infinities (median() drops them): the middle of the sorted values, ∞ if either middle one is. */
function medianOf(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const a = s[(s.length - 1) >> 1] as number;
  const b = s[s.length >> 1] as number;
  return a === b ? a : (a + b) / 2;
}

/** Medians over rounds of each figure; counts summed. */
function summary(fs: readonly Figures[]) {
  const m = (f: (x: Figures) => number) => medianOf(fs.map(f));
  const byLane = (f: (x: Figures) => Record<Lane, number>) =>
    Object.fromEntries(LANES.map((l) => [l, m((x) => f(x)[l])])) as Record<Lane, number>;
  return {
    admittedP50Ms: m((x) => x.admittedP50Ms),
    admittedP99Ms: m((x) => x.admittedP99Ms),
    p99ByLane: byLane((x) => x.p99ByLane),
    shedShare: m((x) => x.shedShare),
    shedByLane: byLane((x) => x.shedByLane),
    goodput: m((x) => x.goodput),
    probeP99Ms: m((x) => x.probeP99Ms),
    probeFailed: fs.reduce((a, x) => a + x.probeFailed, 0),
    generatorMaxMs: m((x) => x.generatorMaxMs),
    serverCpu: m((x) => x.serverCpu),
    loopMaxMs: m((x) => x.loopMaxMs),
    loopP99Ms: m((x) => x.loopP99Ms),
    elu: m((x) => x.elu),
    errors: fs.reduce((a, x) => a + x.errors, 0),
    unanswered: fs.reduce((a, x) => a + x.unanswered, 0),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  log(
    `shed bench: node ${process.version}, ${ROUNDS} rounds, ${OVERLOAD}× capacity for ${DURATION_S} s over ${CONNECTIONS} connections, ` +
      `${PIN ? 'load on CPU 0, server on CPU 1' : 'not pinned'}`,
  );
  const caps: number[] = [];
  const runs: Record<Variant, Figures[]> = { off: [], on: [] };
  const warnings: string[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let cap = Number.NaN;
    for (const variant of ['off', 'on'] as Variant[]) {
      const child = await startServer(variant);
      const pool = newPool(child);
      try {
        await closedLoop(pool, WARMUP_S); // JIT warm, every connection open
        if (variant === 'off') {
          cap = await closedLoop(pool, CAPACITY_S);
          caps.push(cap);
        }
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        const f = figures(await overload(child, pool, cap * OVERLOAD), cap);
        runs[variant].push(f);
        log(
          `  round ${r + 1}/${ROUNDS} ${variant === 'on' ? 'shedder   ' : 'no shedder'} capacity ${fmt(cap)} req/s, offered ${fmt(cap * OVERLOAD)}: ` +
            `admitted p99 ${fmt(f.admittedP99Ms)} ms, shed ${pct(f.shedShare)}, goodput ${pct(f.goodput)}, loop max ${fmt(f.loopMaxMs)} ms, ` +
            `probe p99 ${fmt(f.probeP99Ms)} ms, server CPU ${pct(f.serverCpu)}, generator loop max ${fmt(f.generatorMaxMs)} ms`,
        );
        if (f.serverCpu < CONTENDED_CPU)
          warnings.push(`round ${r + 1} ${variant}: the server had the CPU only ${pct(f.serverCpu)} of the run (another process had it?)`);
        if (f.generatorMaxMs > GENERATOR_LAG_MS)
          warnings.push(
            `round ${r + 1} ${variant}: the load generator's loop lagged ${fmt(f.generatorMaxMs)} ms (CPU contention?): latencies include it`,
          );
      } finally {
        await pool.destroy();
        await stopChild(child);
      }
    }
  }

  const off = summary(runs.off);
  const on = summary(runs.on);
  const ordered = on.shedByLane.low >= on.shedByLane.normal && on.shedByLane.normal >= on.shedByLane.high;
  const targets = {
    admittedP99Ms: { measured: json(on.admittedP99Ms), limit: TARGET.admittedP99Ms, pass: on.admittedP99Ms <= TARGET.admittedP99Ms },
    goodput: { measured: json(on.goodput, 3), limit: TARGET.goodput, pass: on.goodput >= TARGET.goodput },
    lowerPriorityShedFirst: { measured: on.shedByLane, pass: ordered },
    probeP99Ms: {
      measured: json(on.probeP99Ms),
      limit: TARGET.probeP99Ms,
      pass: on.probeP99Ms <= TARGET.probeP99Ms && on.probeFailed === 0,
    },
    loopMaxMs: { measured: json(on.loopMaxMs), limit: TARGET.loopMaxMs, pass: on.loopMaxMs <= TARGET.loopMaxMs },
    clean: { measured: { errors: on.errors, unanswered: on.unanswered }, pass: on.errors === 0 && on.unanswered === 0 },
  };

  const rows: [string, string, string, string][] = [
    ['admitted p50 ms', fmt(off.admittedP50Ms), fmt(on.admittedP50Ms), ''],
    ['admitted p99 ms', fmt(off.admittedP99Ms), fmt(on.admittedP99Ms), `≤ ${TARGET.admittedP99Ms}`],
    ...LANES.map((l): [string, string, string, string] => [`  ${l} p99 ms`, fmt(off.p99ByLane[l]), fmt(on.p99ByLane[l]), '']),
    ['shed share', pct(off.shedShare), pct(on.shedShare), ''],
    ...LANES.map((l): [string, string, string, string] => [
      `  ${l} shed`,
      pct(off.shedByLane[l]),
      pct(on.shedByLane[l]),
      l === 'low' ? 'low ≥ normal ≥ high' : '',
    ]),
    ['goodput (of capacity)', pct(off.goodput), pct(on.goodput), `≥ ${pct(TARGET.goodput)}`],
    ['critical probe p99 ms', fmt(off.probeP99Ms), fmt(on.probeP99Ms), `≤ ${TARGET.probeP99Ms}, none failed`],
    ['probes failed', String(off.probeFailed), String(on.probeFailed), '0'],
    ['generator loop max ms', fmt(off.generatorMaxMs), fmt(on.generatorMaxMs), `(≤ ${GENERATOR_LAG_MS}, or figures are the generator's)`],
    ['loop delay max ms', fmt(off.loopMaxMs), fmt(on.loopMaxMs), `≤ ${TARGET.loopMaxMs}`],
    ['loop delay p99 ms', fmt(off.loopP99Ms), fmt(on.loopP99Ms), ''],
    ['loop utilisation', pct(off.elu), pct(on.elu), ''],
    ['server CPU', pct(off.serverCpu), pct(on.serverCpu), `(≥ ${pct(CONTENDED_CPU)}, or it was starved)`],
    ['errors', String(off.errors), String(on.errors), '0'],
    ['unanswered', String(off.unanswered), String(on.unanswered), '0'],
  ];
  log('');
  log(`capacity (median over rounds): ${fmt(median(caps))} req/s; offered ${OVERLOAD}× that`);
  log([pad('figure', 24), pad('no shedder', 12, true), pad('shedder', 12, true), '  target (shedder)'].join(' '));
  log('-'.repeat(80));
  for (const [name, a, b, t] of rows) log([pad(name, 24), pad(a, 12, true), pad(b, 12, true), `  ${t}`].join(' '));
  log('');
  for (const [name, t] of Object.entries(targets)) log(`  ${pad(name, 24)} ${t.pass ? 'PASS' : 'FAIL'}`);
  for (const w of warnings) log(`warning: ${w}`);
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const out = (s: ReturnType<typeof summary>) => ({
    admittedP50Ms: json(s.admittedP50Ms),
    admittedP99Ms: json(s.admittedP99Ms),
    p99ByLaneMs: Object.fromEntries(LANES.map((l) => [l, json(s.p99ByLane[l])])),
    shedShare: json(s.shedShare, 3),
    shedByLane: Object.fromEntries(LANES.map((l) => [l, json(s.shedByLane[l], 3)])),
    goodput: json(s.goodput, 3),
    probeP99Ms: json(s.probeP99Ms),
    probeFailed: s.probeFailed,
    loopMaxMs: json(s.loopMaxMs),
    loopP99Ms: json(s.loopP99Ms),
    elu: json(s.elu, 3),
    serverCpu: json(s.serverCpu, 3),
    generatorMaxMs: json(s.generatorMaxMs),
    errors: s.errors,
    unanswered: s.unanswered,
  });
  const result = {
    bench: 'shed',
    node: process.version,
    date: new Date().toISOString(),
    rounds: ROUNDS,
    config: {
      overload: OVERLOAD,
      durationS: DURATION_S,
      connections: CONNECTIONS,
      workMs: Number(process.env.BENCH_WORK_MS ?? 2),
      pinned: PIN,
    },
    capacityReqPerSec: json(median(caps), 0),
    capacityRounds: caps.map((c) => json(c, 0)),
    results: { off: out(off), on: out(on) },
    targets,
    warnings,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
