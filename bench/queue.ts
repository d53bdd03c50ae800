/**
 * Throughput of nines' QueueManager against p-queue 10 and bottleneck 2.
 *
 *   npm run bench:queue          (= npm run build && node --expose-gc bench/queue.ts)
 *
 * Env knobs: BENCH_ROUNDS (default 5), BENCH_TASKS (default 100000), BENCH_BOTTLENECK_TASKS (default
 * 2000), BENCH_CONCURRENCY (default 10), BENCH_NINES=<path of another build's ratelimit/queue/index.js>
 * (A/B of a change).
 *
 * Method. A run builds a fresh queue with `concurrency` workers, adds BENCH_TASKS trivial tasks
 * (`async () => 1`) in one synchronous loop, and waits for every returned promise (Promise.all):
 * tasks/s is BENCH_TASKS over the wall time from the first add to the last settlement. Two
 * scenarios: `plain` (no options) and `guarded` (every task carries one shared AbortSignal and a
 * 10 s run timeout: p-queue `timeout`, bottleneck `expiration`, nines `runTimeout`; the task reads
 * the signal it is given, so nines makes an AbortController per task as p-queue does). One warm-up
 * round is discarded; then every round runs each library once, in an order rotated every round,
 * with a GC before each run. Figures are medians over rounds; `vs p-queue` is the median of the
 * per-round ratios, so drift of this shared machine cancels within a round.
 * Stdout gets exactly one JSON line; the table goes to stderr.
 *
 * Caveat. bottleneck yields to the event loop with a setTimeout(0) (about 1 ms) at every step of
 * its datastore, so it runs a few hundred trivial tasks/s whatever the concurrency: 1e5 tasks would
 * take minutes a run. It gets BENCH_BOTTLENECK_TASKS tasks instead; its rate does not depend on the
 * count (measured: 385, 400, 410 tasks/s for 1,000, 5,000, 20,000 tasks).
 */
import Bottleneck from 'bottleneck';
import PQueue from 'p-queue';
import { log, median, pad } from './lib/common.ts';

const nines: typeof import('nines/ratelimit') = await import(process.env.BENCH_NINES ?? 'nines/ratelimit');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TASKS = Number(process.env.BENCH_TASKS ?? 100_000);
const BOTTLENECK_TASKS = Number(process.env.BENCH_BOTTLENECK_TASKS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const RUN_TIMEOUT_MS = 10_000;
/** Target: nines not slower than p-queue (ratio of tasks/s). */
const TARGET_VS_PQUEUE = 1;

type Scenario = 'plain' | 'guarded';
const SCENARIOS: readonly Scenario[] = ['plain', 'guarded'];
const LIBRARIES = ['nines', 'p-queue', 'bottleneck'] as const;
type Library = (typeof LIBRARIES)[number];

const task = async () => 1;
/** The guarded scenario's task reads its signal, as one passing it to fetch() would; nines then makes its AbortController. */
const readsSignal = async ({ signal }: { signal?: AbortSignal }) => (signal?.aborted ? 0 : 1);

const tasksOf = (library: Library) => (library === 'bottleneck' ? BOTTLENECK_TASKS : TASKS);

/** Adds the library's count of tasks to a fresh queue; resolves when all have settled. */
function runOnce(library: Library, scenario: Scenario): Promise<unknown> {
  const guarded = scenario === 'guarded';
  const signal = new AbortController().signal;
  const results: Promise<unknown>[] = new Array(tasksOf(library));
  if (library === 'nines') {
    const queue = new nines.QueueManager({ concurrency: CONCURRENCY, ...(guarded ? { runTimeout: RUN_TIMEOUT_MS } : {}) });
    const options = guarded ? { signal } : undefined;
    for (let i = 0; i < TASKS; i++) results[i] = queue.add(guarded ? readsSignal : task, options);
  } else if (library === 'p-queue') {
    const queue = new PQueue({ concurrency: CONCURRENCY, ...(guarded ? { timeout: RUN_TIMEOUT_MS } : {}) });
    const options = guarded ? { signal } : undefined;
    for (let i = 0; i < TASKS; i++) results[i] = queue.add(guarded ? readsSignal : task, options);
  } else {
    const limiter = new Bottleneck({ maxConcurrent: CONCURRENCY });
    const options = guarded ? { expiration: RUN_TIMEOUT_MS } : {};
    for (let i = 0; i < BOTTLENECK_TASKS; i++) results[i] = limiter.schedule(options, task);
  }
  return Promise.all(results);
}

async function measure(library: Library, scenario: Scenario): Promise<number> {
  globalThis.gc?.();
  const start = performance.now();
  await runOnce(library, scenario);
  return tasksOf(library) / ((performance.now() - start) / 1000);
}

const perSecond: Record<Scenario, Record<Library, number[]>> = {
  plain: { nines: [], 'p-queue': [], bottleneck: [] },
  guarded: { nines: [], 'p-queue': [], bottleneck: [] },
};
const ratios: Record<Scenario, { pQueue: number[]; bottleneck: number[] }> = {
  plain: { pQueue: [], bottleneck: [] },
  guarded: { pQueue: [], bottleneck: [] },
};

log(
  `queue bench: node ${process.version}, ${TASKS} tasks (bottleneck ${BOTTLENECK_TASKS}), concurrency ${CONCURRENCY}, ${ROUNDS} rounds (+1 warm-up)`,
);
if (globalThis.gc === undefined) log('warning: run with --expose-gc for a GC before each run');
for (let round = -1; round < ROUNDS; round++) {
  for (const scenario of SCENARIOS) {
    const order = LIBRARIES.map((_, i) => LIBRARIES[(i + Math.max(0, round)) % LIBRARIES.length] as Library);
    const got = {} as Record<Library, number>;
    for (const library of order) got[library] = await measure(library, scenario);
    if (round < 0) continue;
    for (const library of LIBRARIES) perSecond[scenario][library].push(got[library]);
    ratios[scenario].pQueue.push(got.nines / got['p-queue']);
    ratios[scenario].bottleneck.push(got.nines / got.bottleneck);
  }
}

interface ScenarioResult {
  tasksPerSecond: Record<Library, number>;
  ninesVsPQueue: number;
  ninesVsBottleneck: number;
  target: { ninesVsPQueue: string; pass: boolean };
}

const result = {} as Record<Scenario, ScenarioResult>;
for (const scenario of SCENARIOS) {
  const vsPQueue = median(ratios[scenario].pQueue);
  const tasksPerSecond = {} as Record<Library, number>;
  for (const l of LIBRARIES) tasksPerSecond[l] = Math.round(median(perSecond[scenario][l]));
  result[scenario] = {
    tasksPerSecond,
    ninesVsPQueue: Number(vsPQueue.toFixed(2)),
    ninesVsBottleneck: Number(median(ratios[scenario].bottleneck).toFixed(2)),
    target: { ninesVsPQueue: `≥ ${TARGET_VS_PQUEUE}`, pass: vsPQueue >= TARGET_VS_PQUEUE },
  };
}

const widths = [9, 13, 13, 13, 11, 14, 10];
log('');
log(
  ['scenario', 'nines/s', 'p-queue/s', 'bottleneck/s', 'vs p-queue', 'vs bottleneck', 'target']
    .map((h, i) => pad(h, widths[i] as number, i > 0))
    .join('  '),
);
for (const scenario of SCENARIOS) {
  const r = result[scenario];
  const cells = [
    scenario,
    r.tasksPerSecond.nines.toLocaleString('en'),
    r.tasksPerSecond['p-queue'].toLocaleString('en'),
    r.tasksPerSecond.bottleneck.toLocaleString('en'),
    `${r.ninesVsPQueue.toFixed(2)}×`,
    `${r.ninesVsBottleneck.toFixed(2)}×`,
    `≥ ${TARGET_VS_PQUEUE}× ${r.target.pass ? 'ok' : 'MISS'}`,
  ];
  log(cells.map((c, i) => pad(c, widths[i] as number, i > 0)).join('  '));
}
process.stdout.write(
  `${JSON.stringify({ bench: 'queue', node: process.version, tasks: TASKS, bottleneckTasks: BOTTLENECK_TASKS, concurrency: CONCURRENCY, rounds: ROUNDS, ...result })}\n`,
);
