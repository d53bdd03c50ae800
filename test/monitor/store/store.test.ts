/**
 * The Store against real databases: every test runs on SQLite (a temp file) and on PostgreSQL (a
 * fresh schema per test, dropped after). PostgreSQL tests skip loudly when it is down, fail in CI.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openStore } from '../../../src/monitor/store/open.js';
import type { ProbeCursor, ProbeRecord, Store } from '../../../src/monitor/store/types.js';
import { random } from '../../support/random.js';
import { backends, batch, exactStats, expectStats, type Location, series } from './backends.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Hour-aligned start of the simulated time. */
const T0 = Date.UTC(2025, 0, 1);
const idle = { openSince: undefined, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };

async function writeChecks(store: Store, checks: ProbeRecord[], per = 5_000): Promise<void> {
  for (let i = 0; i < checks.length; i += per) await store.write(batch({ checks: checks.slice(i, i + per) }));
}

describe.each(backends)('$name store', (backend) => {
  const it = test.skipIf(backend.skip);
  let location: Location;
  let open: Store[] = [];
  let store: Store;

  /** Opens (and migrates) the test's store; closed after the test. */
  async function connect(): Promise<Store> {
    const s = await openStore(location.url, location.schema ? { schema: location.schema } : {});
    open.push(s);
    await s.migrate();
    return s;
  }

  async function reopen(): Promise<Store> {
    await store.close();
    open = open.filter((s) => s !== store);
    store = await connect();
    return store;
  }

  beforeEach(async () => {
    if (backend.skip) return;
    location = await backend.create();
    store = await connect();
  });

  afterEach(async () => {
    if (backend.skip) return;
    for (const s of open) await s.close();
    open = [];
    await location.dispose();
  });

  it('migrates twice harmlessly, keeping the data', async () => {
    await store.migrate();
    await store.write(batch({ checks: [{ component: 'api', time: T0, durationMs: 5, status: 'healthy' }] }));
    await store.migrate();
    await reopen();
    expect((await store.checks('api', { limit: 10 })).items).toHaveLength(1);
  });

  it('reads back what it wrote', async () => {
    const checks: ProbeRecord[] = [
      { component: 'api', time: T0, durationMs: 12, status: 'healthy' },
      { component: 'api', time: T0 + 1_000, durationMs: 700, status: 'degraded' },
      { component: 'api', time: T0 + 2_000, durationMs: 3_000, status: 'unhealthy', error: 'timeout after 3000 ms' },
    ];
    const tracker = { openSince: T0 + 2_000, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };
    await store.write(
      batch({
        checks,
        opened: [{ component: 'api', start: T0 + 2_000, error: 'timeout after 3000 ms' }],
        gaps: [{ component: 'api', from: T0 - 5_000, to: T0 }],
        states: [{ component: 'api', firstCheckAt: T0, lastCheckAt: T0 + 2_000, tracker }],
      }),
    );
    expect((await store.checks('api', { limit: 10 })).items).toEqual([...checks].reverse());
    // with the check stored at lastCheckAt: what an instance following another reads
    expect(await store.states()).toEqual([
      { component: 'api', firstCheckAt: T0, lastCheckAt: T0 + 2_000, tracker: { ...tracker, recent: undefined }, last: checks[2] },
    ]);
    const timeline = await store.timeline('api', T0 - HOUR, T0 + HOUR);
    expect(timeline.gaps).toEqual([{ from: T0 - 5_000, to: T0 }]);
    const incident = { id: expect.any(Number), component: 'api', start: T0 + 2_000, end: null, error: 'timeout after 3000 ms' };
    expect(timeline.incidents).toEqual([incident]);
    expect((await store.incidents({ limit: 5 })).items).toEqual([incident]);
    expect(await store.timeline('nope', 0, T0)).toEqual({ incidents: [], gaps: [] });
    expect(await store.checks('nope', { limit: 1 })).toEqual({ items: [], next: null });
  });

  it('writes a batch atomically: a failure midway leaves nothing, not even a new component', async () => {
    await store.write(batch({ opened: [{ component: 'db', start: T0 }] }));
    const failing = batch({
      checks: [
        { component: 'cache', time: T0, durationMs: 3, status: 'healthy' },
        { component: 'db', time: T0, durationMs: 3, status: 'unhealthy' },
      ],
      // The same incident again violates the unique (component, start) index after the checks landed.
      opened: [{ component: 'db', start: T0 }],
      states: [{ component: 'cache', firstCheckAt: T0, lastCheckAt: T0, tracker: idle }],
    });
    await expect(store.write(failing)).rejects.toThrow();
    // A gap ending before it starts violates a CHECK constraint, the last statement but one.
    await expect(
      store.write(batch({ checks: failing.checks, gaps: [{ component: 'cache', from: T0, to: T0 - 1 }], states: failing.states })),
    ).rejects.toThrow();
    expect((await store.checks('cache', { limit: 10 })).items).toEqual([]);
    expect((await store.checks('db', { limit: 10 })).items).toEqual([]);
    expect(await store.states()).toEqual([]);
    expect((await store.incidents({ limit: 10 })).items).toHaveLength(1);
    // The rolled-back component id is not cached: the next batch for it works.
    await store.write(batch({ checks: [failing.checks[0] as ProbeRecord], states: failing.states }));
    expect((await store.checks('cache', { limit: 10 })).items).toHaveLength(1);
    expect(await store.states()).toHaveLength(1);
  });

  it('keeps an open incident and the tracker state across close and reopen', async () => {
    const tracker = { openSince: T0, failures: 0, failingSince: undefined, passes: 1, passingSince: T0 + 30_000 };
    await store.write(
      batch({
        opened: [{ component: 'api', start: T0 }],
        states: [{ component: 'api', firstCheckAt: T0 - DAY, lastCheckAt: T0 + 30_000, tracker }],
      }),
    );
    await reopen();
    expect(await store.states()).toEqual([{ component: 'api', firstCheckAt: T0 - DAY, lastCheckAt: T0 + 30_000, tracker }]);
    expect((await store.timeline('api', T0, T0 + DAY)).incidents).toMatchObject([{ start: T0, end: null }]);
    // Resolved by the restarted monitor: the state row is replaced, not duplicated.
    await store.write(
      batch({
        resolved: [{ component: 'api', start: T0, end: T0 + 30_000 }],
        states: [{ component: 'api', firstCheckAt: T0 - DAY, lastCheckAt: T0 + 60_000, tracker: idle }],
      }),
    );
    expect((await store.incidents({ limit: 5 })).items).toMatchObject([{ component: 'api', start: T0, end: T0 + 30_000 }]);
    expect(await store.states()).toEqual([{ component: 'api', firstCheckAt: T0 - DAY, lastCheckAt: T0 + 60_000, tracker: idle }]);
  });

  it('returns incidents and gaps overlapping [from, to), half-open at both edges', async () => {
    await store.write(
      batch({
        opened: [
          { component: 'api', start: 100 },
          { component: 'api', start: 200 },
          { component: 'api', start: 500 },
          { component: 'other', start: 150 },
        ],
        resolved: [
          { component: 'api', start: 100, end: 200 },
          { component: 'api', start: 200, end: 300 },
        ],
        gaps: [
          { component: 'api', from: 50, to: 100 },
          { component: 'api', from: 300, to: 350 },
        ],
      }),
    );
    const spans = async (from: number, to: number) => {
      const t = await store.timeline('api', from, to);
      return { incidents: t.incidents.map((i) => [i.start, i.end]), gaps: t.gaps.map((g) => [g.from, g.to]) };
    };
    expect(await spans(200, 300)).toEqual({ incidents: [[200, 300]], gaps: [] });
    expect(await spans(199, 201)).toEqual({
      incidents: [
        [100, 200],
        [200, 300],
      ],
      gaps: [],
    });
    expect(await spans(0, 100)).toEqual({ incidents: [], gaps: [[50, 100]] });
    expect(await spans(300, 500)).toEqual({ incidents: [], gaps: [[300, 350]] });
    expect(await spans(349, 501)).toEqual({ incidents: [[500, null]], gaps: [[300, 350]] });
    // Open: overlaps any window after its start.
    expect(await spans(10_000, 20_000)).toEqual({ incidents: [[500, null]], gaps: [] });
    expect(await spans(0, 1_000)).toEqual({
      incidents: [
        [100, 200],
        [200, 300],
        [500, null],
      ],
      gaps: [
        [50, 100],
        [300, 350],
      ],
    });
  });

  it('pages checks and incidents newest first', async () => {
    const checks = Array.from({ length: 25 }, (_, i) => ({
      component: 'api',
      time: T0 + i * 1_000,
      durationMs: i,
      status: 'healthy' as const,
    }));
    await store.write(batch({ checks }));
    const times: number[] = [];
    const sizes: number[] = [];
    let before: ProbeCursor | undefined;
    for (;;) {
      const page = await store.checks('api', { limit: 10, ...(before === undefined ? {} : { before }) });
      sizes.push(page.items.length);
      times.push(...page.items.map((c) => c.time));
      if (page.next === null) break;
      before = page.next;
    }
    expect(sizes).toEqual([10, 10, 5]);
    expect(times).toEqual(checks.map((c) => c.time).reverse());

    for (let i = 0; i < 7; i++) await store.write(batch({ opened: [{ component: i % 2 ? 'db' : 'api', start: T0 + i * MINUTE }] }));
    const all: number[] = [];
    let cursor: number | undefined;
    for (;;) {
      const page = await store.incidents({ limit: 3, ...(cursor === undefined ? {} : { before: cursor }) });
      all.push(...page.items.map((i) => i.start));
      if (page.next === null) break;
      cursor = page.next;
    }
    expect(all).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => T0 + i * MINUTE));
    const api = await store.incidents({ component: 'api', limit: 2 });
    expect(api.items.map((i) => i.start)).toEqual([T0 + 6 * MINUTE, T0 + 4 * MINUTE]);
    const rest = await store.incidents({ component: 'api', limit: 2, before: api.next as number });
    expect(rest.items.map((i) => i.start)).toEqual([T0 + 2 * MINUTE, T0]);
    expect(rest.next).toBeNull();
    expect((await store.incidents({ since: T0 + 5 * MINUTE, limit: 10 })).items.map((i) => i.start)).toEqual([
      T0 + 6 * MINUTE,
      T0 + 5 * MINUTE,
    ]);
  });

  it('gives a series of steps, each as exact as checkStats over that step, whatever the rollups', async () => {
    const now = T0 + 3 * HOUR + 10 * MINUTE;
    const checks = series('api', T0, now, 7_000, random(2));
    await writeChecks(store, checks);
    await store.compact(now, 4 * HOUR); // hours and minutes rolled up, raw rows kept
    const from = T0 + 17_500;
    // 25-minute steps straddle hours and minutes: each reads finer rows where a rollup would not fit
    for (const step of [25 * MINUTE, HOUR, 7 * MINUTE + 13_000]) {
      const got = await store.checkSeries('api', from, now, step);
      expect(got).toHaveLength(Math.ceil((now - from) / step));
      got.forEach((stats, i) => {
        const a = from + i * step;
        expectStats(stats, exactStats(checks, a, Math.min(now, a + step)));
      });
    }
    await store.compact(now, 10 * MINUTE); // raw rows of the first three hours gone
    const hourly = await store.checkSeries('api', T0, T0 + 3 * HOUR, HOUR);
    hourly.forEach((stats, i) => {
      expectStats(stats, exactStats(checks, T0 + i * HOUR, T0 + (i + 1) * HOUR));
    });
    expect(hourly.reduce((n, s) => n + s.total, 0)).toBe(exactStats(checks, T0, T0 + 3 * HOUR).total);
  });

  it('merges hour rollups, minute rollups and raw rows into exact counts and percentiles', async () => {
    const now = T0 + 3 * HOUR + 10 * MINUTE;
    const checks = series('api', T0, now, 7_000, random(1));
    await writeChecks(store, checks);
    // Minutes before now - 2 min are rolled up, hours before T0 + 3 h too; nothing deleted yet.
    await store.compact(now, 4 * HOUR);
    // raw [17.5 s, 1 min) + minutes to 1 h + hours 1..3 + minutes to 3 h 8 min + raw to now.
    const from = T0 + 17_500;
    expectStats(await store.checkStats('api', from, now), exactStats(checks, from, now));
    expectStats(
      await store.checkStats('api', T0 + 30 * MINUTE, T0 + 30 * MINUTE + 30_000),
      exactStats(checks, T0 + 30 * MINUTE, T0 + 30 * MINUTE + 30_000),
    );
    // Now without the raw rows of the first three hours: the rollups alone answer for them.
    await store.compact(now, 10 * MINUTE);
    expect((await store.checks('api', { limit: 1, before: T0 + 3 * HOUR })).items).toEqual([]);
    expectStats(await store.checkStats('api', T0, now), exactStats(checks, T0, now));
    expectStats(await store.checkStats('api', T0 + 5 * MINUTE, T0 + 2 * HOUR), exactStats(checks, T0 + 5 * MINUTE, T0 + 2 * HOUR));
    expect(await store.checkStats('other', T0, now)).toEqual({
      total: 0,
      healthy: 0,
      degraded: 0,
      unhealthy: 0,
      p50: null,
      p95: null,
      p99: null,
    });
  });

  it('compacts idempotently', async () => {
    const now = T0 + 2 * HOUR + 30 * MINUTE;
    const checks = series('api', T0, now, 10_000, random(2));
    await writeChecks(store, checks);
    await store.compact(now, DAY);
    const first = await store.checkStats('api', T0, now);
    await store.compact(now, DAY);
    await Promise.all([store.compact(now + MINUTE, DAY), store.compact(now + MINUTE, DAY)]);
    expect(await store.checkStats('api', T0, now)).toEqual(first);
    expectStats(first, exactStats(checks, T0, now));
    // Later checks are folded once too.
    const more = series('api', now, now + HOUR, 10_000, random(3));
    await writeChecks(store, more);
    await store.compact(now + HOUR + 5 * MINUTE, DAY);
    await store.compact(now + HOUR + 5 * MINUTE, DAY);
    expectStats(await store.checkStats('api', T0, now + HOUR), exactStats([...checks, ...more], T0, now + HOUR));
  });

  it('keeps 7 days of raw rows and every hour over 40 simulated days', async () => {
    const rand = random(4);
    const all: ProbeRecord[] = [];
    for (let day = 0; day < 40; day++) {
      const from = T0 + day * DAY;
      const checks = [...series('api', from, from + DAY, 5 * MINUTE, rand), ...series('db', from, from + DAY, 5 * MINUTE, rand)];
      all.push(...checks);
      await store.write(batch({ checks }));
      await store.compact(from + DAY, 7 * DAY);
    }
    const now = T0 + 40 * DAY;
    for (const component of ['api', 'db']) {
      const mine = all.filter((c) => c.component === component);
      expect((await store.checks(component, { limit: 1, before: now - 7 * DAY })).items).toEqual([]);
      expect((await store.checks(component, { limit: 1, before: now - 7 * DAY + 10 * MINUTE })).items).toHaveLength(1);
      expectStats(await store.checkStats(component, T0, now), exactStats(mine, T0, now));
      expectStats(await store.checkStats(component, now - 30 * DAY, now), exactStats(mine, now - 30 * DAY, now));
      // Hours older than minute-rollup retention still count exactly.
      expectStats(await store.checkStats(component, T0 + 3 * HOUR, T0 + 2 * DAY), exactStats(mine, T0 + 3 * HOUR, T0 + 2 * DAY));
    }
  });

  it('stores a raw check in few bytes', async () => {
    const rand = random(5);
    await store.write(batch({ checks: series('warmup', T0 - DAY, T0 - DAY + MINUTE, 10_000, rand) }));
    const before = await store.size();
    const components = ['api', 'db', 'cache', 'queue'];
    const checks: ProbeRecord[] = [];
    for (let i = 0; i < 5_000; i++) {
      for (const component of components) {
        const failed = rand() < 0.02;
        checks.push({
          component,
          time: T0 + i * 15_000 + Math.floor(rand() * 1_000),
          durationMs: 5 + Math.floor(rand() * 500),
          status: failed ? 'unhealthy' : 'healthy',
          ...(failed ? { error: 'ECONNREFUSED' } : {}),
        });
      }
    }
    await writeChecks(store, checks);
    const perCheck = ((await store.size()) - before) / checks.length;
    console.log(`${backend.name}: ${perCheck.toFixed(1)} bytes per raw check (${checks.length} checks)`);
    if (backend.name === 'sqlite') expect(perCheck).toBeLessThanOrEqual(80);
  });

  it('survives kill -9 mid-write without a torn batch', async () => {
    const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'writer.ts');
    const batchSize = 500;
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, location.url, location.schema ?? '', String(batchSize)], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let committed = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        committed = Number(d.toString().trim().split('\n').at(-1));
        // Kill a few batches in, at a moment unrelated to the batch boundaries.
        if (committed >= 3) setTimeout(resolve, Math.floor(Math.random() * 20));
      });
      child.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    await store.close();
    open = open.filter((s) => s !== store);
    store = await connect();
    const { total } = await store.checkStats('writer', 0, Number.MAX_SAFE_INTEGER);
    expect(total).toBeGreaterThanOrEqual(committed * batchSize);
    expect(total % batchSize).toBe(0);
    // The state was written in the same transactions as the checks.
    const [state] = await store.states();
    const [newest] = (await store.checks('writer', { limit: 1 })).items;
    expect(state?.lastCheckAt).toBe(newest?.time);
  });
});
