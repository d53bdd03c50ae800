/**
 * How soon a flag change made in one instance is in force in another: nines' PostgreSQL flag
 * store (LISTEN/NOTIFY) between two processes.
 *
 *   npm run bench:flags          (= npm run build && node bench/flags.ts)
 *
 * Env knobs: BENCH_ROUNDS (default 5), BENCH_CHANGES (changes per round, default 100), BENCH_NINES
 * (path of another build's degrade/index.js),
 * NINES_BENCH_PG_URL (default NINES_TEST_PG_URL, then postgres://postgres@127.0.0.1:5432/test).
 *
 * Method. This process writes (`put`, one transaction with its audit record and a NOTIFY); a child
 * process holds a second store on its own pool and prints the time each change reached it. A
 * change's propagation is the child's receipt time less the time just before `put` was called
 * (both `Date.now()` on one machine, so one clock). Changes are 20 ms apart, each to one of 10
 * flags. Per round p50/p99/max; figures are medians over rounds. The target is the issue's: every
 * instance sees a change within 1 s.
 *
 * Then the same through the API, as an operator makes a change: two `nines serve` processes on one
 * PostgreSQL schema (`?schema=`, rate limits off); `PUT /api/flags/:name` on one, and
 * `GET /api/flags` on the other every 5 ms until it shows the change. A change's propagation is from
 * just before the PUT to the first answer showing it (so it includes the PUT, one poll interval at
 * most and HTTP), BENCH_API_CHANGES (default 50) per round, one after another. For scale, not measured here (no Unleash server can run on
 * this machine): an Unleash SDK polls its server every 15 s by default (`refreshInterval`), so a
 * change takes up to 15 s, 7.5 s on average, to reach an instance.
 * Stdout gets exactly one JSON line; the table goes to stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { log, median, pad } from './lib/common.ts';

const { PostgresFlagStore }: typeof import('nines/degrade') = await import(process.env.BENCH_NINES ?? 'nines/degrade');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const PG_URL = process.env.NINES_BENCH_PG_URL ?? process.env.NINES_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const API_CHANGES = Number(process.env.BENCH_API_CHANGES ?? 50);
const CLI = process.env.BENCH_NINES_CLI ?? fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
const TOKEN = 'bench-token-0123456789abcdef';
const TARGET_MS = 1000;
const schema = process.env.BENCH_FLAGS_SCHEMA ?? `bench_flags_${process.pid}`;
const parse = (_name: string, d: unknown) => d as { enabled: boolean; seq: number };

/** The child: a store of its own, printing each change's receipt time. */
async function child(): Promise<void> {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const store = new PostgresFlagStore({ pool, schema, parse });
  store.on('change', ({ flag }) => {
    if (flag !== undefined) process.stdout.write(`${JSON.stringify({ seq: flag.seq, at: Date.now() })}\n`);
  });
  await store.start();
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('end', resolve).resume());
  await store.close();
  await pool.end();
}

/** A free loopback port. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** Starts `nines serve` on `port` with the history (and so the flags) in PostgreSQL schema `apiSchema`. */
async function serve(dir: string, name: string, apiSchema: string): Promise<{ proc: ChildProcess; base: string }> {
  const port = await freePort();
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    `server: { port: ${port}, token: ${TOKEN}, rateLimit: { writes: { enabled: false }, reads: { enabled: false } } }
storage: '${PG_URL}?schema=${apiSchema}'
components:
  - { name: ${name}, check: { type: tcp, host: 127.0.0.1, port: ${port} }, interval: 10s }
flags:
  api-bench: { enabled: false }
`,
  );
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NINES_LOG_LEVEL: 'warn', NINES_DRAIN_DELAY_MS: '0' },
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`nines serve ${name} exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.includes('status and API at')) resolve();
    });
  });
  proc.removeAllListeners('exit');
  return { proc, base: `http://127.0.0.1:${port}` };
}

/** Rounds of API changes on one instance, read back from the other. */
async function throughApi(): Promise<{ p50: number; p99: number; max: number }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nines-bench-flags-'));
  const apiSchema = `${schema}_api`;
  const a = await serve(dir, 'a', apiSchema);
  const b = await serve(dir, 'b', apiSchema);
  const enabledOnB = async (): Promise<boolean> => {
    const body = (await (await fetch(`${b.base}/api/flags`)).json()) as { flags: { name: string; enabled: boolean }[] };
    return body.flags.find((f) => f.name === 'api-bench')?.enabled === true;
  };
  const rounds: { p50: number; p99: number; max: number }[] = [];
  let enabled = false;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const ms: number[] = [];
      for (let i = 0; i < API_CHANGES; i++) {
        enabled = !enabled;
        const start = performance.now();
        const put = await fetch(`${a.base}/api/flags/api-bench`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'x-nines-by': 'bench' },
          body: JSON.stringify({ enabled }),
        });
        if (!put.ok) throw new Error(`PUT answered ${put.status}: ${await put.text()}`);
        const deadline = start + 10_000;
        while ((await enabledOnB()) !== enabled) {
          if (performance.now() > deadline) throw new Error('instance b never saw the change');
          await new Promise((r) => setTimeout(r, 5));
        }
        ms.push(Math.round(performance.now() - start));
      }
      ms.sort((x, y) => x - y);
      const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] as number;
      rounds.push({ p50: at(0.5), p99: at(0.99), max: ms[ms.length - 1] as number });
      log(`  API round ${round + 1}/${ROUNDS}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${ms[ms.length - 1]} ms`);
    }
  } finally {
    for (const p of [a.proc, b.proc]) {
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS "${apiSchema}" CASCADE`);
    await pool.end();
  }
  return rounds;
}

async function main(): Promise<void> {
  log(`nines flags bench: ${CHANGES} changes × ${ROUNDS} rounds, two processes on one PostgreSQL, node ${process.version}`);
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const store = new PostgresFlagStore({ pool, schema, parse });
  await store.start();
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_FLAGS_SCHEMA: schema },
  });
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'ready') throw new Error('child did not start');
  const received = new Map<number, number>();
  const reading = (async () => {
    for await (const line of { [Symbol.asyncIterator]: () => lines }) {
      const { seq, at } = JSON.parse(line) as { seq: number; at: number };
      received.set(seq, at);
    }
  })();
  const rounds: { p50: number; p99: number; max: number }[] = [];
  let seq = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const sent = new Map<number, number>();
    for (let i = 0; i < CHANGES; i++) {
      seq++;
      sent.set(seq, Date.now());
      await store.put(`flag${i % 10}`, { enabled: i % 2 === 0, seq }, { by: 'bench' });
      await new Promise((r) => setTimeout(r, 20));
    }
    const deadline = Date.now() + 10_000;
    while ([...sent.keys()].some((s) => !received.has(s)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const ms = [...sent].map(([s, t]) => (received.get(s) ?? Number.POSITIVE_INFINITY) - t).sort((x, y) => x - y);
    const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] as number;
    rounds.push({ p50: at(0.5), p99: at(0.99), max: ms[ms.length - 1] as number });
    log(`  round ${round + 1}/${ROUNDS}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${ms[ms.length - 1]} ms`);
  }
  proc.stdin.end();
  await reading;
  await store.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  const summary = (rs: { p50: number; p99: number; max: number }[]) => ({
    p50Ms: median(rs.map((r) => r.p50)),
    p99Ms: median(rs.map((r) => r.p99)),
    maxMs: Math.max(...rs.map((r) => r.max)),
  });
  const figure = summary(rounds);
  log(`through the API: ${API_CHANGES} changes × ${ROUNDS} rounds, two nines serve processes`);
  const api = summary(await throughApi());
  log('');
  log(`${pad('propagation, ms', 20)} ${pad('p50', 8, true)} ${pad('p99', 8, true)} ${pad('max', 8, true)}   target`);
  log(
    `${pad('nines postgres', 20)} ${pad(String(figure.p50Ms), 8, true)} ${pad(String(figure.p99Ms), 8, true)} ${pad(String(figure.maxMs), 8, true)}   max < ${TARGET_MS}: ${figure.maxMs < TARGET_MS ? 'PASS' : 'FAIL'}`,
  );
  log(
    `${pad('nines serve API', 20)} ${pad(String(api.p50Ms), 8, true)} ${pad(String(api.p99Ms), 8, true)} ${pad(String(api.maxMs), 8, true)}   max < ${TARGET_MS}: ${api.maxMs < TARGET_MS ? 'PASS' : 'FAIL'}`,
  );
  log(
    `${pad('Unleash SDK default', 20)} ${pad('7500', 8, true)} ${pad('15000', 8, true)} ${pad('15000', 8, true)}   (documented 15 s polling, not measured)`,
  );
  process.stdout.write(
    `${JSON.stringify({ bench: 'flags', node: process.version, rounds: ROUNDS, changes: CHANGES, propagation: figure, api: { changes: API_CHANGES, propagation: api }, targets: { maxMs: { measured: figure.maxMs, limit: TARGET_MS, pass: figure.maxMs < TARGET_MS }, apiMaxMs: { measured: api.maxMs, limit: TARGET_MS, pass: api.maxMs < TARGET_MS } } })}\n`,
  );
}

if (process.argv.includes('--child')) await child();
else await main();
