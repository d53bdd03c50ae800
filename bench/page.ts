/// <reference lib="dom" />
/**
 * What the status page costs the monitor behind it.
 *
 *   npm run bench:page      (about 30 s)
 *
 * A SQLite store gets 90 days of history for 50 public components (test/support/history.ts, the
 * same as the browser test), then `nines serve` (dist, with its shebang's V8 flags) runs in a child
 * process checking those 50 components every second against a loopback target in this process.
 *   cold render  GET / (identity) once the cached page is older than its maximum age: model from
 *                the store + HTML; median of BENCH_COLD samples (page.refresh 1s, so 500 ms apart)
 *   page load    headless Chromium (/usr/bin/chromium, skipped when missing): the navigation's load
 *                event, median of BENCH_LOADS fresh pages; target LOAD_TARGET_MS (the limit the
 *                browser test used to assert, moved here: a speed limit is a benchmark's, not a test's)
 *   crowd        autocannon, BENCH_CONNECTIONS connections for BENCH_SECONDS s on GET / with
 *                `accept-encoding: br` (what browsers send): req/s, latency p50/p99, and what the
 *                monitor went through meanwhile: server CPU (/proc) and its schedule lag from its
 *                own /metrics histogram (share of check runs starting more than 10 / 50 ms late)
 * No peer runs here: Uptime Kuma's and Gatus's status pages are single-page apps over a JSON API,
 * not comparable one request to one request. The figure to compare is the crowd's: before the
 * page cache, every request rendered (13 req/s on this page).
 * Env knobs: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 50), BENCH_COLD (default 9),
 * BENCH_LOADS (default 5), BENCH_BIN (another build's dist/cli/index.js, to measure an older version the same way).
 * Stdout gets exactly one JSON line; everything human-readable goes to stderr.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { chromium } from 'playwright-core';
import { openStore } from '../src/monitor/store/index.js';
import { bin as built, exitOf, freePort, startServing } from '../test/support/e2e.js';
import { history } from '../test/support/history.js';
import { cpuSeconds, log, median, pad } from './lib/common.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const COLD = Number(process.env.BENCH_COLD ?? 9);
const LOADS = Number(process.env.BENCH_LOADS ?? 5);
const COMPONENTS = 50;
const CHROMIUM = '/usr/bin/chromium';
/** The page's load event at 50 components in headless Chromium must stay under this (ms). */
const LOAD_TARGET_MS = 500;
/** The `nines` CLI to run: this checkout's build, or another's (to compare two versions). */
const bin = process.env.BENCH_BIN ?? built;
const DAY = 86_400_000;

/** Cumulative `nines_schedule_lag_seconds` bucket counts by upper bound, and the total. */
async function lagBuckets(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^nines_schedule_lag_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) out.set(m[1] ?? '', Number(m[2]));
  return out;
}

/** Median load-event time (ms) of `LOADS` fresh pages of `url` in headless Chromium; null without Chromium. */
async function browserLoad(url: string): Promise<number | null> {
  if (!existsSync(CHROMIUM)) return null;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const times: number[] = [];
    for (let i = 0; i <= LOADS; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(url);
      const ms = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd);
      if (i > 0) times.push(ms); // the first one also warms the browser
      await page.close();
    }
    return Number(median(times).toFixed(1));
  } finally {
    await browser.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'nines-bench-page-'));
const target = createServer((_req, res) => res.writeHead(200).end('UP'));
await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
try {
  const db = join(dir, 'nines.db');
  const names = Array.from({ length: COMPONENTS }, (_, i) => `svc-${String(i).padStart(2, '0')}`);
  const now = Date.now();
  const store = await openStore(`sqlite:${db}`);
  await store.migrate();
  for (const [i, name] of names.entries()) await store.write(history(name, now, i + 1));
  await store.compact(now, 7 * DAY);
  await store.close();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}/health`;
  const yaml = [
    // the crowd comes from one address: one client to the rate limiter, which would refuse most of it
    `server: { host: 127.0.0.1, port: ${port}, rateLimit: { reads: { enabled: false } } }`,
    `storage: sqlite:${db}`,
    'page: { refresh: 1s }',
    'defaults: { interval: 1s, timeout: 500ms, degradedAfter: 250ms }',
    'components:',
    ...names.map((name) => `  - { name: ${name}, check: { type: http, url: ${url} } }`),
    'slos:',
    '  - { name: svc-00-availability, component: svc-00, objective: 99.9, window: 30d }',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'nines.yaml'), yaml);
  const { proc } = await startServing(
    ['--max-semi-space-size=8', '--heap-growing-percent=50', bin, 'serve', '--config', join(dir, 'nines.yaml')],
    {
      timeoutMs: 20_000,
    },
  );
  try {
    const cold: number[] = [];
    let bytes = 0;
    for (let i = 0; i <= COLD; i++) {
      await new Promise((r) => setTimeout(r, 600)); // older than the page's maximum age (refresh / 2)
      const t = performance.now();
      const body = await (await fetch(`${base}/`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer();
      if (i > 0) cold.push(performance.now() - t); // the first one also warms the JIT
      bytes = body.byteLength;
    }
    const loadMs = await browserLoad(`${base}/`);
    const lagBefore = await lagBuckets(base);
    const cpuBefore = cpuSeconds(proc.pid) ?? 0;
    const crowd = await autocannon({ url: `${base}/`, connections: CONNECTIONS, duration: SECONDS, headers: { 'accept-encoding': 'br' } });
    const cpu = (cpuSeconds(proc.pid) ?? 0) - cpuBefore;
    const lagAfter = await lagBuckets(base);
    const runs = (lagAfter.get('+Inf') ?? 0) - (lagBefore.get('+Inf') ?? 0);
    const late = (le: string) => runs - ((lagAfter.get(le) ?? 0) - (lagBefore.get(le) ?? 0));
    const result = {
      bench: 'page',
      node: process.version,
      components: COMPONENTS,
      htmlBytes: bytes,
      coldRenderMs: Number(median(cold).toFixed(1)),
      loadEventMs: loadMs,
      loadEventTargetMs: LOAD_TARGET_MS,
      loadEventMeetsTarget: loadMs === null ? null : loadMs < LOAD_TARGET_MS,
      crowd: {
        connections: CONNECTIONS,
        seconds: SECONDS,
        reqPerSec: Math.round(crowd.requests.average),
        latencyP50Ms: crowd.latency.p50,
        latencyP99Ms: crowd.latency.p99,
        errors: crowd.errors + crowd.non2xx,
        bytesPerResponse: Math.round(crowd.throughput.total / Math.max(1, crowd.requests.total)),
        serverCores: Number((cpu / SECONDS).toFixed(2)),
        checkRuns: runs,
        lateOver10ms: Number((late('0.01') / Math.max(1, runs)).toFixed(4)),
        lateOver50ms: Number((late('0.05') / Math.max(1, runs)).toFixed(4)),
      },
    };
    log(`status page, ${COMPONENTS} components × 90 days, ${bytes} B of HTML`);
    log(`${pad('cold render (model + HTML)', 34)} ${pad(`${result.coldRenderMs} ms`, 12, true)}  median of ${cold.length}`);
    log(
      `${pad('page load event, Chromium', 34)} ${pad(loadMs === null ? 'skipped' : `${loadMs} ms`, 12, true)}  target < ${LOAD_TARGET_MS} ms, median of ${LOADS}`,
    );
    log(
      `${pad(`crowd, ${CONNECTIONS} connections, br`, 34)} ${pad(`${result.crowd.reqPerSec} req/s`, 12, true)}  p50 ${crowd.latency.p50} ms, p99 ${crowd.latency.p99} ms, ${result.crowd.bytesPerResponse} B each, ${result.crowd.errors} errors`,
    );
    log(`${pad('server CPU during the crowd', 34)} ${pad(`${result.crowd.serverCores} cores`, 12, true)}`);
    log(
      `${pad('check runs > 10 ms / > 50 ms late', 34)} ${pad(`${(result.crowd.lateOver10ms * 100).toFixed(1)} %`, 12, true)}  ${(result.crowd.lateOver50ms * 100).toFixed(1)} % of ${runs}`,
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    proc.kill('SIGTERM');
    await exitOf(proc);
  }
} finally {
  target.close();
  rmSync(dir, { recursive: true, force: true });
}
