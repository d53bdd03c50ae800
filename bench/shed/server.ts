/**
 * Fixture of bench/shed.ts: one node:http server per process.   node bench/shed/server.ts <off|on>
 *
 * Every request but `/health` costs BENCH_WORK_MS (default 2) ms of CPU on the event loop (SHA-256
 * rounds, calibrated at start), then answers 200 with a small JSON body. `on` puts nines'
 * loadShedHandler (default options) in front, the priority read from the `x-priority` header;
 * `/health` is `critical`. Prints the port (one line, digits only) on stdout once listening. Over
 * IPC: 'reset' starts a measuring window of the event-loop delay (monitorEventLoopDelay, 10 ms
 * resolution); 'stats' answers { maxMs, p99Ms, meanMs, elu } of the window. Exits when the parent
 * disconnects.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { LoadShedder, loadShedHandler, type Priority } from 'nines/ratelimit';

const WORK_MS = Number(process.env.BENCH_WORK_MS ?? 2);
const BLOCK = Buffer.alloc(1024, 7);

function work(rounds: number): string {
  let digest = BLOCK;
  for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).update(BLOCK).digest();
  return digest.toString('hex', 0, 8);
}

/** Rounds that take WORK_MS here, from the fastest of a few timed batches (the machine is shared). */
function calibrate(): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    work(2000);
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(1, Math.round((2000 * WORK_MS) / best));
}

const rounds = calibrate();
const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
const app = (req: IncomingMessage, res: ServerResponse): void => {
  const body = req.url === '/health' ? '{"status":"pass"}' : JSON.stringify({ digest: work(rounds) });
  res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
};

const PRIORITIES = new Set(['critical', 'high', 'normal', 'low']);
const priority = (req: IncomingMessage): Priority => {
  if (req.url === '/health') return 'critical';
  const h = req.headers['x-priority'];
  return typeof h === 'string' && PRIORITIES.has(h) ? (h as Priority) : 'normal';
};

const variant = process.argv[2];
if (variant !== 'off' && variant !== 'on') {
  process.stderr.write('usage: node bench/shed/server.ts <off|on>\n');
  process.exit(2);
}
const shed = variant === 'on' ? loadShedHandler(new LoadShedder(), { priority }) : undefined;
const server = createServer(shed ? (req, res) => shed(req, res, () => app(req, res)) : app);
server.keepAliveTimeout = 60_000;

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let elu = performance.eventLoopUtilization();
process.on('message', (message) => {
  if (message === 'reset') {
    delay.reset();
    elu = performance.eventLoopUtilization();
  } else if (message === 'stats') {
    // A sample is the interval between two timer ticks: the lag is what exceeds the 10 ms resolution.
    const lag = (ns: number) => Math.max(0, ns / 1e6 - 10);
    process.send?.({
      maxMs: lag(delay.max),
      p99Ms: lag(delay.percentile(99)),
      meanMs: lag(delay.mean),
      elu: performance.eventLoopUtilization(elu).utilization,
      rounds,
    });
  }
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
if (process.connected) process.on('disconnect', () => process.exit(0));
