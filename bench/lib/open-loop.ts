// Open-loop load: requests sent at a fixed rate whether or not earlier ones have answered, each one's
// latency measured from the time it was due (no coordinated omission), each bounded by a deadline.
import { performance } from 'node:perf_hooks';

/** Sends one request; resolves with its HTTP status once the body is read, rejects on an error. */
export type Send = (signal: AbortSignal) => Promise<number>;

/** Something done at `atMs` into the run (a fault, a restart); its start and end times are recorded. */
export interface LoadEvent {
  name: string;
  atMs: number;
  run: () => unknown;
}

/** Options of `openLoop`. */
export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  /** How long to send, ms. */
  durationMs: number;
  /** A request unanswered this long after it was due is aborted and counted as `deadline`. */
  deadlineMs: number;
  events?: readonly LoadEvent[];
}

/** When an event ran, ms from the run's start (performance.now() − `startedAt`); its end also in epoch ms (NaN until done). */
export interface EventTimes {
  startMs: number;
  endMs: number;
  endEpochMs: number;
}

/** What an open-loop run measured. */
export interface OpenLoopResult {
  sent: number;
  /** Requests by outcome: `ok` (2xx), a status code (`'503'`), an error code (`'ECONNREFUSED'`), `deadline`, or `unanswered` (still pending 1 s after its abort). */
  outcomes: Record<string, number>;
  /** Latency percentiles in ms over every request (failures at the time they failed). */
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** CPU time (user + system) of this process per request sent, µs. */
  cpuUsPerRequest: number;
  /** Highest RSS sampled during the run, MB. */
  rssMaxMb: number;
  /** Largest delay between a request's due time and its sending: above a few ms, the generator itself was late. */
  lagMaxMs: number;
  /** performance.now() at the run's start: the zero of every `*Ms` time. */
  startedAt: number;
  events: Record<string, EventTimes>;
}

const TICK_MS = 1;
const SWEEP_MS = 25;
/** After the deadline's abort, how long a client may take to give the request up. */
const GRACE_MS = 1_000;

/** The `q` quantile (0..1) of sorted `xs`, nearest rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

function outcomeOf(err: unknown, aborted: boolean): string {
  if (aborted) return 'deadline';
  const e = err as { code?: unknown; statusCode?: unknown; name?: unknown };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.statusCode === 'number') return String(e.statusCode);
  return typeof e?.name === 'string' ? e.name : 'error';
}

/** Runs `send` at `rate` for `durationMs`, then waits for the last answers (at most `deadlineMs`). */
export async function openLoop(send: Send, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, durationMs, deadlineMs } = options;
  const total = Math.floor((rate * durationMs) / 1000);
  const intervalMs = 1000 / rate;
  const latencies = new Float64Array(total);
  const outcomes: Record<string, number> = {};
  const inflight = new Map<number, { due: number; controller: AbortController; abortedAt?: number }>();
  const pendingEvents = [...(options.events ?? [])].sort((a, b) => a.atMs - b.atMs);
  const events: Record<string, EventTimes> = {};
  let next = 0;
  let done = 0;
  let lagMaxMs = 0;
  let rssMax = process.memoryUsage.rss();
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const record = (i: number, outcome: string): void => {
    const entry = inflight.get(i);
    if (entry === undefined) return;
    inflight.delete(i);
    latencies[i] = performance.now() - entry.due;
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (++done === total) finish();
  };

  const fire = (i: number, due: number): void => {
    const controller = new AbortController();
    inflight.set(i, { due, controller });
    send(controller.signal).then(
      (status) => record(i, status >= 200 && status < 300 ? 'ok' : String(status)),
      (err) => record(i, outcomeOf(err, controller.signal.aborted)),
    );
  };

  const cpu0 = process.cpuUsage();
  const startedAt = performance.now();

  const runEvent = (event: LoadEvent): void => {
    // Recorded at once: the start is what a fault's window counts from; the end is NaN until it is done.
    const times: EventTimes = { startMs: performance.now() - startedAt, endMs: Number.NaN, endEpochMs: Number.NaN };
    events[event.name] = times;
    Promise.resolve()
      .then(event.run)
      .then(
        () => {
          times.endMs = performance.now() - startedAt;
          times.endEpochMs = Date.now();
        },
        (err) => {
          process.stderr.write(`event ${event.name} failed: ${(err as Error).message}\n`);
        },
      );
  };

  const tick = (): void => {
    const now = performance.now();
    const elapsed = now - startedAt;
    while (pendingEvents.length > 0 && (pendingEvents[0] as LoadEvent).atMs <= elapsed) runEvent(pendingEvents.shift() as LoadEvent);
    while (next < total && next * intervalMs <= elapsed) {
      const due = startedAt + next * intervalMs;
      lagMaxMs = Math.max(lagMaxMs, now - due);
      fire(next++, due);
    }
    if (next < total) setTimeout(tick, TICK_MS);
  };

  // The deadline from the due time, so a request stuck in a client's queue fails as late as it was.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [i, entry] of inflight) {
      if (entry.abortedAt === undefined) {
        if (now - entry.due < deadlineMs) continue;
        entry.abortedAt = now;
        entry.controller.abort();
      } else if (now - entry.abortedAt >= GRACE_MS) record(i, 'unanswered'); // a client that ignored the abort
    }
    rssMax = Math.max(rssMax, process.memoryUsage.rss());
  }, SWEEP_MS);

  if (total === 0) finish();
  else tick();
  await finished;
  clearInterval(sweep);
  const cpu = process.cpuUsage(cpu0);
  const sorted = latencies.slice().sort();
  return {
    sent: total,
    outcomes,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    p999Ms: quantile(sorted, 0.999),
    cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, total),
    rssMaxMb: rssMax / 2 ** 20,
    lagMaxMs,
    startedAt,
    events,
  };
}
