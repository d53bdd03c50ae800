/**
 * Checks written after compaction folded their minute (a flush in flight, a write that hung on a
 * partition, an outage longer than lateMs) still count in the rollups, on both backends.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { Monitor } from '../../../src/monitor/monitor.js';
import { openStore } from '../../../src/monitor/store/open.js';
import { HOUR, MINUTE } from '../../../src/monitor/store/plan.js';
import type { ProbeRecord, ProbeStats, Store, WriteBatch } from '../../../src/monitor/store/types.js';
import { ManualClock } from '../../../src/policy/index.js';
import { random } from '../../support/random.js';
import { pgUrl } from '../../support/services.js';
import { tcpProxy } from '../../support/tcp-proxy.js';
import { backends, batch, exactStats, expectStats, series, useStores } from './backends.js';

const DAY = 24 * HOUR;
/** Hour-aligned start of the simulated time. */
const T0 = Date.UTC(2025, 0, 1);
const END = T0 + 4 * HOUR;

/** `checks` of one component renamed to `component`. */
const as = (component: string, checks: ProbeRecord[]) => checks.map((c) => ({ ...c, component }));

/** Every way the store answers about `component` over [T0, END): whole range, odd windows, per minute, per hour. */
async function answers(store: Store, component: string): Promise<ProbeStats[]> {
  return [
    await store.checkStats(component, T0, END),
    await store.checkStats(component, T0 + 7 * MINUTE + 13, T0 + 3 * HOUR + 5 * MINUTE),
    ...(await store.checkSeries(component, T0, END, MINUTE)),
    ...(await store.checkSeries(component, T0, END, HOUR)),
  ];
}

describe.each(backends)('$name store, late checks', (backend) => {
  const it = test.skipIf(backend.skip);
  const stores = useStores(backend);

  it('counts a check written after its minute and hour were rolled up exactly as if it had been on time', async () => {
    const store = await stores.open();
    const all = series('x', T0, END, 10_000, random(11));
    // late: in a folded hour, in a folded minute of an open hour, alone in a minute (no row yet), several in one minute
    const late = [
      { component: 'x', time: T0 + 30 * MINUTE + 1, durationMs: 70_000, status: 'unhealthy' as const, error: 'late' },
      { component: 'x', time: T0 + 3 * HOUR + 2 * MINUTE, durationMs: 0, status: 'degraded' as const },
      ...all.filter((c) => c.time >= T0 + 3 * HOUR + 5 * MINUTE && c.time < T0 + 3 * HOUR + 6 * MINUTE),
    ];
    const lateAt = new Set(late.map((c) => c.time));
    const onTime = all.filter((c) => !lateAt.has(c.time));
    const alone = { component: 'x', time: T0 + 90 * MINUTE + 59_999, durationMs: 7, status: 'healthy' as const };
    // nothing else in that minute: its late check makes a new row
    const others = onTime.filter((c) => Math.floor(c.time / MINUTE) !== Math.floor(alone.time / MINUTE));
    late.push(alone);
    await store.write(batch({ checks: [...as('ontime', [...others, ...late]), ...as('late', others)] }));
    const now = END + 10 * MINUTE; // folds through END: hours T0..T0+3h, minutes up to END
    await store.compact(now, 30 * DAY);
    await store.write(batch({ checks: as('late', late) }));
    const expected = await answers(store, 'ontime');
    expect(await answers(store, 'late')).toEqual(expected);
    expectStats(expected[0] as ProbeStats, exactStats([...others, ...late], T0, END));
    // a second compaction folds nothing twice
    await store.compact(now + MINUTE, 30 * DAY);
    expect(await answers(store, 'late')).toEqual(expected);
    // pruning the raw rows leaves both alike (the odd window's partial minutes lose their rows)
    await store.compact(now + 2 * MINUTE, HOUR);
    expect(await answers(store, 'late')).toEqual(await answers(store, 'ontime'));
  });

  it('agrees with the raw data through writes racing compactions on other connections', async () => {
    // lateMs 0: a minute is folded as soon as it ends, so most writes race a fold of their minute
    const writer = await stores.open({ lateMs: 0 });
    // SQLite: one store runs one transaction at a time (a second connection to the file would get
    // SQLITE_BUSY_SNAPSHOT, never wrong data); PostgreSQL: two pools, so the transactions overlap
    const compactor = backend.name === 'sqlite' ? writer : await stores.open({ lateMs: 0 });
    const written: ProbeRecord[] = [];
    const rand = random(12);
    let now = T0;
    for (let round = 0; round < 40; round++) {
      now += 20_000 + Math.floor(rand() * 20_000);
      const checks = Array.from({ length: 20 }, (_, i) => ({
        component: i % 2 ? 'a' : 'b',
        time: now - Math.floor(rand() * 3 * MINUTE),
        durationMs: Math.floor(rand() * 2_000),
        status: rand() < 0.9 ? ('healthy' as const) : ('unhealthy' as const),
      }));
      written.push(...checks);
      await Promise.all([writer.write(batch({ checks })), compactor.compact(now, 30 * DAY)]);
    }
    await compactor.compact(now + 2 * HOUR, 30 * DAY); // every minute and hour folded
    for (const component of ['a', 'b']) {
      const mine = written.filter((c) => c.component === component);
      const perMinute = await writer.checkSeries(component, T0, now + MINUTE, MINUTE);
      perMinute.forEach((stats, i) => {
        expectStats(stats, exactStats(mine, T0 + i * MINUTE, T0 + (i + 1) * MINUTE));
      });
      expectStats(await writer.checkStats(component, T0, now + MINUTE), exactStats(mine, T0, now + MINUTE));
    }
  });
});

describe.skipIf(backends[1]?.skip !== false)('PostgreSQL store, a write cut off by a partition while compaction goes on', () => {
  const stores = useStores(backends[1] as (typeof backends)[number]);
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  test('counts the batch written once the network heals, after its minutes were folded', async () => {
    const proxy = await tcpProxy(Number(new URL(pgUrl).port || 5432), new URL(pgUrl).hostname);
    cleanup.push(() => proxy.close());
    const url = new URL(pgUrl);
    url.port = String(proxy.port);
    const writer = await stores.open({ timeoutMs: 2_000, failFastMs: 150 }, url.href); // a deadline a loaded machine never meets on a healthy network
    const compactor = await stores.open();
    const first = series('api', T0, T0 + 10 * MINUTE, 5_000, random(13));
    const cut = series('api', T0 + 10 * MINUTE, T0 + 20 * MINUTE, 5_000, random(14));
    await writer.write(batch({ checks: first }));
    proxy.set('blackhole');
    await expect(writer.write(batch({ checks: cut }))).rejects.toThrow();
    // the compaction on another connection folds the cut minutes, longer ago than lateMs (2 min)
    await compactor.compact(T0 + 30 * MINUTE, 30 * DAY);
    proxy.set('pass');
    await new Promise((r) => setTimeout(r, 150)); // the writer's breaker lets the retry through
    await writer.write(batch({ checks: cut }));
    await compactor.compact(T0 + 2 * HOUR, 30 * DAY);
    const all = [...first, ...cut];
    const perMinute = await compactor.checkSeries('api', T0, T0 + HOUR, MINUTE);
    perMinute.forEach((stats, i) => {
      expectStats(stats, exactStats(all, T0 + i * MINUTE, T0 + (i + 1) * MINUTE));
    });
    expectStats(await compactor.checkStats('api', T0, T0 + HOUR), exactStats(all, T0, T0 + HOUR));
    expect((await compactor.checkStats('api', T0 + 10 * MINUTE, T0 + 20 * MINUTE)).total).toBe(cut.length);
  });
});

describe('Monitor compaction during a flush in flight', () => {
  test('holds the minutes of the checks being written open', async () => {
    const parsed = parseConfig(
      'components:\n  - { name: api, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }\n',
      {
        env: {},
      },
    );
    if (!parsed.ok) throw new Error('config');
    const clock = new ManualClock(T0);
    const inner = await openStore('sqlite::memory:');
    let release = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let writing: ProbeRecord[] = [];
    const holds: number[] = [];
    const store: Store = Object.assign(Object.create(inner) as Store, {
      write: async (b: WriteBatch) => {
        if (writing.length === 0) writing = b.checks;
        await gate; // the first flush hangs, as on a partition
        return inner.write(b);
      },
      compact: (now: number, retention: number, holdFrom?: number) => {
        holds.push(holdFrom ?? Number.POSITIVE_INFINITY);
        return inner.compact(now, retention, holdFrom);
      },
    });
    const monitor = new Monitor({
      config: parsed.config,
      store,
      clock,
      probe: (c) => async () => ({ name: c.name, time: clock.now(), durationMs: 1, status: 'healthy' }),
    });
    await monitor.start();
    await clock.advance(5 * MINUTE); // the first flush hangs while the compaction loop runs
    const oldest = Math.min(...writing.map((c) => c.time));
    expect(writing.length).toBeGreaterThan(0);
    expect(holds.length).toBeGreaterThan(2);
    for (const hold of holds) expect(hold).toBeLessThanOrEqual(oldest);
    release();
    await monitor.stop();
    await inner.close();
  });
});
