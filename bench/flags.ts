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
 * instance sees a change within 1 s. For scale, not measured here (no Unleash server can run on
 * this machine): an Unleash SDK polls its server every 15 s by default (`refreshInterval`), so a
 * change takes up to 15 s, 7.5 s on average, to reach an instance.
 * Stdout gets exactly one JSON line; the table goes to stderr.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { log, median, pad } from './lib/common.ts';

const { PostgresFlagStore }: typeof import('nines/degrade') = await import(process.env.BENCH_NINES ?? 'nines/degrade');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const PG_URL = process.env.NINES_BENCH_PG_URL ?? process.env.NINES_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
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
  const figure = {
    p50Ms: median(rounds.map((r) => r.p50)),
    p99Ms: median(rounds.map((r) => r.p99)),
    maxMs: Math.max(...rounds.map((r) => r.max)),
  };
  log('');
  log(`${pad('propagation, ms', 20)} ${pad('p50', 8, true)} ${pad('p99', 8, true)} ${pad('max', 8, true)}   target`);
  log(
    `${pad('nines postgres', 20)} ${pad(String(figure.p50Ms), 8, true)} ${pad(String(figure.p99Ms), 8, true)} ${pad(String(figure.maxMs), 8, true)}   max < ${TARGET_MS}: ${figure.maxMs < TARGET_MS ? 'PASS' : 'FAIL'}`,
  );
  log(
    `${pad('Unleash SDK default', 20)} ${pad('7500', 8, true)} ${pad('15000', 8, true)} ${pad('15000', 8, true)}   (documented 15 s polling, not measured)`,
  );
  process.stdout.write(
    `${JSON.stringify({ bench: 'flags', node: process.version, rounds: ROUNDS, changes: CHANGES, propagation: figure, targets: { maxMs: { measured: figure.maxMs, limit: TARGET_MS, pass: figure.maxMs < TARGET_MS } } })}\n`,
  );
}

if (process.argv.includes('--child')) await child();
else await main();
