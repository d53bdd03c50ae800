/**
 * Throughput of nines' readiness probe against bare node:http, lightship 9 and @godaddy/terminus 4.
 *
 *   npm run bench:probes          (= npm run build && node bench/probes.ts; about 90 s)
 *
 * Env knobs: BENCH_ROUNDS (default 7), BENCH_DURATION (s per measured run, default 2), BENCH_WARMUP
 * (s of warm-up before each, default 0.5), BENCH_CONNECTIONS (default 50), BENCH_ONLY=<regex on the
 * variant name>, BENCH_PIN=0 (no CPU pinning), BENCH_CPU_PROF=<dir> (children run with --cpu-prof
 * into dir, sampling every BENCH_CPU_PROF_INTERVAL µs, default 50; pair with BENCH_ONLY=nines),
 * BENCH_NINES=<path of another build's health/index.js> (A/B of a change).
 *
 * Method. Every run starts its server in a fresh child process (bench/probes/server.ts <variant>)
 * listening on 127.0.0.1, so the load generator (autocannon, in this process) never shares an event
 * loop with the server; exactly one server runs at a time. With taskset and 2+ CPUs, autocannon is
 * pinned to CPU 0 and the server to CPU 1. Before measuring, one GET must answer 200 on the variant's
 * readiness route, or the bench fails. Then autocannon warms up for BENCH_WARMUP s and measures for
 * BENCH_DURATION s, same connections for every variant, keep-alive, no pipelining; the child is
 * stopped after its run. Within a round every variant runs once, in an order rotated every round;
 * many short rounds rather than a few long ones, because this VM's speed drifts by up to ±8 % for
 * seconds at a time. req/s is autocannon's mean of its per-second samples; `vs bare` and every target
 * ratio are medians over rounds of the ratio within one round (so drift cancels); req/s and latencies
 * are medians over rounds, non2xx/errors are summed. `srv CPU` is the child's CPU time over the
 * measured run's wall time (100 % = saturated; below 90 % the run gets a warning: something else had
 * the CPU), `gen CPU` the same for this process (autocannon), and `srv µs/req` the child's CPU time
 * per answered request: the server's own cost, which stays meaningful when the load generator, not
 * the server, is the limit (each target's `serverBound` is its ratio from these costs, median over
 * rounds: what req/s would show if the server alone were the limit). Latencies are autocannon's, in
 * whole milliseconds (p50/p99 read 0–1 ms here); the JSON adds the mean.
 * Stdout gets exactly one JSON line; everything human-readable goes to stderr.
 *
 * Caveats. The routes differ in what they answer: bare and nines 'ok' (text/plain, content-length;
 * nines adds cache-control), lightship 'SERVER_IS_READY' through Fastify, terminus '{"status":"ok"}'
 * (application/json, chunked). nines' readiness answers from the background results
 * (registry.start()), as it would in production; its checks are trivial and run at most once during
 * a run (interval 10 s). Lightship binds 0.0.0.0 (not configurable); the bench connects through
 * 127.0.0.1. With one core per side, both sides run near 100 % CPU: req/s is then set by the
 * server's and the generator's cost per request together, so req/s differences between servers are
 * compressed (and a longer answer costs autocannon more); `srv µs/req` is not.
 */
import { get } from 'node:http';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { type Child, startChild, stopChild } from './lib/child-server.ts';
import { cpuSeconds, log, median, pad, pinSelf } from './lib/common.ts';

// ---------------------------------------------------------------------------------------------------
// Configuration

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 2);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 0.5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
/** Sampling interval of --cpu-prof (µs); Node's default, 1000, mostly samples the socket write syscall. */
const CPU_PROF_INTERVAL_US = Number(process.env.BENCH_CPU_PROF_INTERVAL ?? 50);
const FIXTURE = fileURLToPath(new URL('./probes/server.ts', import.meta.url));
const BARE_RATIO_LIMIT = 0.9;
/** Below this share of the wall time on CPU, a saturated server was starved by something else. */
const CONTENDED_CPU = 0.9;
/**
 * BENCH_PIN=0 turns it off. With taskset and 2+ CPUs, this process (autocannon) runs on CPU 0 and
 * the server on CPU 1: without pinning the scheduler sometimes puts both on one core for a while,
 * which moved a variant's cost per request by ±8 % from run to run.
 */
const LOAD_CPU = '0';
const SERVER_CPU = '1';
/** CPUs this process may use, read before pinning narrows it to one. */
const CPUS = availableParallelism();
const PIN = process.env.BENCH_PIN !== '0' && CPUS >= 2 && pinSelf(LOAD_CPU);

type VariantName = 'bare' | 'nines' | 'lightship' | 'terminus';
interface Variant {
  name: VariantName;
  /** The readiness route of this variant. */
  route: string;
}
const ALL_VARIANTS: readonly Variant[] = [
  { name: 'bare', route: '/readiness' },
  { name: 'nines', route: '/readiness' },
  { name: 'lightship', route: '/ready' },
  { name: 'terminus', route: '/readiness' },
];
const VARIANTS = ALL_VARIANTS.filter((v) => ONLY === undefined || ONLY.test(v.name));

// ---------------------------------------------------------------------------------------------------
// Child servers

function startServer(variant: VariantName): Promise<Child> {
  const execArgv = CPU_PROF_DIR
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${CPU_PROF_DIR}`,
        `--cpu-prof-name=${variant}-${Date.now()}.cpuprofile`,
        `--cpu-prof-interval=${CPU_PROF_INTERVAL_US}`,
      ]
    : [];
  return startChild(variant, [process.execPath, ...execArgv, FIXTURE, variant], PIN ? SERVER_CPU : undefined);
}

const stopServer = stopChild;

// ---------------------------------------------------------------------------------------------------
// Verification and measurement

interface ProbeAnswer {
  status: number;
  contentType: string;
  body: string;
}

function probe(port: number, route: string): Promise<ProbeAnswer> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: route, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('probe timed out')));
    req.on('error', reject);
  });
}

interface Run {
  reqPerSec: number;
  requests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  serverCpu: number | undefined;
  /** Server CPU µs per answered request: the server's own cost, whoever is the bottleneck. */
  serverUsPerReq: number | undefined;
  loadCpu: number;
}

async function measure(variant: Variant, child: Child): Promise<Run> {
  const url = `http://127.0.0.1:${child.port}${variant.route}`;
  if (WARMUP_S > 0) await autocannon({ url, connections: CONNECTIONS, duration: WARMUP_S });
  const srv0 = cpuSeconds(child.proc.pid);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S });
  const wall = (performance.now() - t0) / 1000;
  const gen = process.cpuUsage(gen0);
  const srv1 = cpuSeconds(child.proc.pid);
  return {
    reqPerSec: r.requests.average,
    requests: r.requests.total,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyMeanMs: r.latency.average,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    serverCpu: srv0 === undefined || srv1 === undefined ? undefined : (srv1 - srv0) / wall,
    serverUsPerReq:
      srv0 === undefined || srv1 === undefined || r.requests.total === 0 ? undefined : ((srv1 - srv0) * 1e6) / r.requests.total,
    loadCpu: (gen.user + gen.system) / 1e6 / wall,
  };
}

// ---------------------------------------------------------------------------------------------------
// Statistics and output

const round = (x: number | undefined, digits: number): number | null =>
  x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));
const fmt = (x: number | null | undefined, digits = 0): string =>
  x === null || x === undefined || !Number.isFinite(x)
    ? '-'
    : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(1)} %`;

/** Median over rounds of a/b within the same round; undefined when either variant did not run. */
function ratio(runs: Map<VariantName, Run[]>, a: VariantName, b: VariantName): number | undefined {
  const ra = runs.get(a);
  const rb = runs.get(b);
  if (!ra || !rb || ra.length === 0 || ra.length !== rb.length) return undefined;
  return median(ra.map((r, i) => r.reqPerSec / (rb[i] as Run).reqPerSec));
}

/** Median over rounds of b's server µs/req ÷ a's, same round: a's req/s relative to b's if the server alone were the limit. */
function costRatio(runs: Map<VariantName, Run[]>, a: VariantName, b: VariantName): number | undefined {
  const ra = runs.get(a);
  const rb = runs.get(b);
  if (!ra || !rb || ra.length === 0 || ra.length !== rb.length) return undefined;
  const xs = ra.flatMap((r, i) => {
    const ua = r.serverUsPerReq;
    const ub = rb[i]?.serverUsPerReq;
    return ua === undefined || ub === undefined ? [] : [ub / ua];
  });
  return xs.length === 0 ? undefined : median(xs);
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  if (VARIANTS.length === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no variant`);
  log(
    `probes bench: node ${process.version}, ${ROUNDS} rounds × ${VARIANTS.length} variants, ${CONNECTIONS} connections, ` +
      `${WARMUP_S} s warm-up + ${DURATION_S} s measured per run, ${PIN ? `autocannon on CPU ${LOAD_CPU}, server on CPU ${SERVER_CPU}` : 'not pinned'}`,
  );
  const runs = new Map<VariantName, Run[]>(VARIANTS.map((v) => [v.name, []]));
  const answers = new Map<VariantName, ProbeAnswer>();
  const warnings: string[] = [];
  if (CPUS < 2) warnings.push('fewer than 2 CPUs available: server and autocannon share one, req/s is about halved');

  for (let r = 0; r < ROUNDS; r++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length] as Variant);
    for (const variant of order) {
      const child = await startServer(variant.name);
      try {
        const answer = await probe(child.port, variant.route);
        if (answer.status !== 200) {
          throw new Error(
            `${variant.name}: GET ${variant.route} answered ${answer.status} ${JSON.stringify(answer.body.slice(0, 200))}, not 200`,
          );
        }
        if (!answers.has(variant.name)) {
          answers.set(variant.name, answer);
          log(`  ${pad(variant.name, 10)} GET ${variant.route} → ${answer.status} ${JSON.stringify(answer.body)} (${answer.contentType})`);
        }
        const run = await measure(variant, child);
        runs.get(variant.name)?.push(run);
        log(
          `  round ${r + 1}/${ROUNDS} ${pad(variant.name, 10)} ${pad(fmt(run.reqPerSec), 8, true)} req/s  ` +
            `p99 ${fmt(run.latencyP99Ms, 1)} ms  srv CPU ${pct(run.serverCpu)} ${fmt(run.serverUsPerReq, 2)} µs/req  gen CPU ${pct(run.loadCpu)}`,
        );
        if (run.serverCpu !== undefined && run.serverCpu < CONTENDED_CPU) {
          warnings.push(
            `${variant.name} round ${r + 1}: server busy only ${pct(run.serverCpu)} of the run (another process had the CPU?); its req/s is low`,
          );
        }
        if (run.non2xx > 0 || run.errors > 0) {
          warnings.push(`${variant.name} round ${r + 1}: ${run.non2xx} non-2xx answers, ${run.errors} errors (${run.timeouts} timeouts)`);
        }
      } finally {
        await stopServer(child);
      }
    }
  }

  const results: Record<string, unknown> = {};
  const rows: {
    name: VariantName;
    reqPerSec: number;
    vsBare: number | undefined;
    p50: number;
    p99: number;
    non2xx: number;
    errors: number;
    srv: number;
    usPerReq: number;
    gen: number;
  }[] = [];
  for (const v of VARIANTS) {
    const rs = runs.get(v.name) ?? [];
    const row = {
      name: v.name,
      reqPerSec: median(rs.map((x) => x.reqPerSec)),
      vsBare: ratio(runs, v.name, 'bare'),
      p50: median(rs.map((x) => x.latencyP50Ms)),
      p99: median(rs.map((x) => x.latencyP99Ms)),
      non2xx: rs.reduce((a, x) => a + x.non2xx, 0),
      errors: rs.reduce((a, x) => a + x.errors, 0),
      srv: median(rs.flatMap((x) => (x.serverCpu === undefined ? [] : [x.serverCpu]))),
      usPerReq: median(rs.flatMap((x) => (x.serverUsPerReq === undefined ? [] : [x.serverUsPerReq]))),
      gen: median(rs.map((x) => x.loadCpu)),
    };
    rows.push(row);
    const answer = answers.get(v.name);
    results[v.name] = {
      route: v.route,
      answer: answer === undefined ? null : { status: answer.status, contentType: answer.contentType, body: answer.body },
      reqPerSec: round(row.reqPerSec, 0),
      reqPerSecRounds: rs.map((x) => round(x.reqPerSec, 0)),
      vsBare: round(row.vsBare, 3),
      latencyP50Ms: round(row.p50, 2),
      latencyP99Ms: round(row.p99, 2),
      latencyMeanMs: round(median(rs.map((x) => x.latencyMeanMs)), 3),
      requests: rs.reduce((a, x) => a + x.requests, 0),
      non2xx: row.non2xx,
      errors: row.errors,
      timeouts: rs.reduce((a, x) => a + x.timeouts, 0),
      serverCpu: round(row.srv, 3),
      serverUsPerReq: round(row.usPerReq, 2),
      loadCpu: round(row.gen, 3),
    };
  }

  const ninesRow = rows.find((x) => x.name === 'nines');
  const ninesClean = ninesRow !== undefined && ninesRow.non2xx === 0 && ninesRow.errors === 0;
  /** `measured` (the target) is the req/s ratio; `serverBound` the same ratio from server CPU per request (diagnostic). */
  const target = (peer: VariantName, limit: number, atLeast: boolean) => {
    const m = round(ratio(runs, 'nines', peer), 3);
    const pass = m !== null && ninesClean && (atLeast ? m >= limit : m > limit);
    return { measured: m, limit, pass, serverBound: round(costRatio(runs, 'nines', peer), 3) };
  };
  const targets = {
    /** nines req/s ÷ bare req/s, same round: at least 0.9. */
    ninesVsBare: target('bare', BARE_RATIO_LIMIT, true),
    /** nines req/s ÷ lightship req/s, same round: above 1 (ahead). */
    ninesVsLightship: target('lightship', 1, false),
    /** nines req/s ÷ terminus req/s, same round: above 1 (ahead). */
    ninesVsTerminus: target('terminus', 1, false),
  };

  const cols: [string, number, boolean][] = [
    ['variant', 10, false],
    ['req/s', 9, true],
    ['vs bare', 8, true],
    ['p50 ms', 7, true],
    ['p99 ms', 7, true],
    ['non2xx', 7, true],
    ['errors', 7, true],
    ['srv CPU', 8, true],
    ['srv µs/req', 10, true],
    ['gen CPU', 8, true],
  ];
  log('');
  log(cols.map(([h, w, r]) => pad(h, w, r)).join(' '));
  log('-'.repeat(cols.reduce((a, [, w]) => a + w + 1, 0)));
  for (const row of rows) {
    const cells = [
      row.name,
      fmt(row.reqPerSec),
      pct(row.vsBare),
      fmt(row.p50, 1),
      fmt(row.p99, 1),
      String(row.non2xx),
      String(row.errors),
      pct(row.srv),
      fmt(row.usPerReq, 2),
      pct(row.gen),
    ];
    log(cells.map((c, i) => pad(c, cols[i]?.[1] ?? 8, cols[i]?.[2] ?? false)).join(' '));
  }
  log('');
  log('targets (median over rounds of the within-round req/s ratio):');
  for (const [name, t] of Object.entries(targets)) {
    log(
      `  ${pad(name, 18)} ${pad(t.measured === null ? '-' : t.measured.toFixed(3), 7, true)} ${name === 'ninesVsBare' ? '≥' : '>'} ${t.limit}  ${t.pass ? 'PASS' : 'FAIL'}  (server-bound ${t.serverBound === null ? '-' : t.serverBound.toFixed(3)})`,
    );
  }
  if (!ninesClean && ninesRow !== undefined) log('  (targets fail while nines has non-2xx answers or errors)');
  for (const w of warnings) log(`warning: ${w}`);
  log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const out = {
    bench: 'probes',
    node: process.version,
    date: new Date().toISOString(),
    rounds: ROUNDS,
    config: { connections: CONNECTIONS, durationS: DURATION_S, warmupS: WARMUP_S, pipelining: 1, host: '127.0.0.1', pinned: PIN },
    results,
    targets,
    warnings,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
