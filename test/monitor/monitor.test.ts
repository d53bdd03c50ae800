import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';

const YAML = `
components:
  - name: api
    interval: 1s
    timeout: 500ms
    degradedAfter: 200ms
    failuresToOpen: 3
    successesToResolve: 2
    check: { type: tcp, host: 127.0.0.1, port: 1 }
slos:
  - { name: api-slo, component: api, objective: 99, window: 1h }
`;

function config() {
  const r = parseConfig(YAML, { env: {} });
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.config;
}

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A monitor whose one component is up or down as `world.up` says; the probe is a custom check, time is manual. */
async function setup(clock: ManualClock, store?: Store, options: { maxBufferedChecks?: number } = {}) {
  const db = store ?? (await openStore('sqlite::memory:'));
  if (!store) stores.push(db);
  const world = { up: true };
  const monitor = new Monitor({
    ...options,
    config: config(),
    store: db,
    clock,
    probe: (c) => async (): Promise<ProbeResult> => ({
      name: c.name,
      time: clock.now(),
      durationMs: 3,
      status: world.up ? 'healthy' : 'unhealthy',
    }),
  });
  await monitor.start();
  return { monitor, world, store: db };
}

/** The real store, except that writes fail while `failing.on` (a database that is down). */
function unwritable(db: Store, failing: { on: boolean }): Store {
  return new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'write' && failing.on) return async () => Promise.reject(new Error('store down'));
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('Monitor', () => {
  it('opens an incident after exactly failuresToOpen failures and resolves it after successesToResolve passes', async () => {
    const clock = new ManualClock(1_000_000);
    const { monitor, world } = await setup(clock);
    const events: string[] = [];
    monitor.on('incidentOpened', (e) => events.push(`opened@${e.start}`));
    monitor.on('incidentResolved', (e) => events.push(`resolved@${e.end}`));
    await clock.advance(5_000); // healthy for a while
    const lastHealthy = monitor.status()[0]?.last?.time ?? 0;
    world.up = false;
    await clock.advance(2_000);
    expect(events).toEqual([]); // two failures: not yet
    await clock.advance(1_000);
    const failStart = lastHealthy + 1_000; // checks run every second
    expect(events).toEqual([`opened@${failStart}`]);
    world.up = true;
    await clock.advance(4_000);
    // passes at failStart + 3 s and + 4 s: the incident ends at the first of them
    expect(events).toEqual([`opened@${failStart}`, `resolved@${failStart + 3_000}`]);
    const f = await monitor.history.figures('api', { from: clock.now() - 60_000, to: clock.now() });
    expect(f?.downMs).toBe(3_000);
    expect(f?.incidentsStarted).toBe(1);
    expect(f?.mttrMs).toBe(3_000);
    await monitor.stop();
  });

  it('keeps an open incident across a restart, records the time it was not running as unobserved, and resolves it after', async () => {
    const clock = new ManualClock(2_000_000);
    const a = await setup(clock);
    a.world.up = false;
    await clock.advance(5_000);
    expect(a.monitor.status()[0]?.incidentSince).toBeDefined();
    const since = a.monitor.status()[0]?.incidentSince;
    await a.monitor.stop();

    await clock.advance(60_000); // the monitor is down for a minute
    const b = await setup(clock, a.store);
    expect(b.monitor.status()[0]?.incidentSince).toBe(since);
    b.world.up = true;
    await clock.advance(5_000);
    expect(b.monitor.status()[0]?.incidentSince).toBeUndefined();
    const f = await b.monitor.history.figures('api', { from: 2_000_000, to: clock.now() });
    // unobserved: from 1.5 s after the last check before the stop until the first check after it
    expect(f?.unobservedMs).toBeGreaterThan(58_000);
    expect(f?.unobservedMs).toBeLessThan(62_500);
    expect((f?.downMs ?? 0) + (f?.upMs ?? 0)).toBe(f?.observedMs);
    expect(f?.downMs).toBeLessThan(8_000); // the minute it was not running is not counted as down
    const slo = await b.monitor.history.slo(b.monitor.config.slos[0] as never);
    expect(slo?.budgetMs).toBeCloseTo(36_000, 6); // 1 % of 1 h
    expect(slo?.budgetRemaining).toBeCloseTo(1 - (f?.downMs ?? 0) / 36_000, 9);
    await b.monitor.stop();
  });

  it('reload adds and removes components and keeps history', async () => {
    const clock = new ManualClock(3_000_000);
    const { monitor } = await setup(clock);
    await clock.advance(3_000);
    const two = parseConfig(
      YAML.replace(
        'slos:',
        `  - name: web\n    interval: 1s\n    timeout: 500ms\n    degradedAfter: 200ms\n    check: { type: tcp, host: 127.0.0.1, port: 2 }\nslos:`,
      ),
      {
        env: {},
      },
    );
    if (!two.ok) throw new Error(two.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    await monitor.reload(two.config);
    expect(monitor.status().map((s) => s.name)).toEqual(['api', 'web']);
    await clock.advance(2_000);
    expect(monitor.status().every((s) => s.status === 'healthy')).toBe(true);
    await monitor.reload(config());
    expect(monitor.status().map((s) => s.name)).toEqual(['api']);
    expect((await monitor.history.figures('api', { from: 0, to: clock.now() }))?.observedMs).toBeGreaterThan(4_000);
    await monitor.stop();
  });

  it('rolls up checks that were buffered while the store failed, however late they are written', async () => {
    const clock = new ManualClock(4_000_020);
    const db = await openStore('sqlite::memory:');
    stores.push(db);
    const failing = { on: false };
    const { monitor } = await setup(clock, unwritable(db, failing));
    let results = 0;
    monitor.on('result', () => results++);
    const from = clock.now();
    await clock.advance(60_000);
    failing.on = true;
    await clock.advance(5 * 60_000); // five compactions pass while nothing can be written
    failing.on = false;
    await clock.advance(3 * 60_000);
    await monitor.stop();
    await db.compact(clock.now() + 10 * 60_000, 7 * 86_400_000); // every minute of the run closed
    const stats = await db.checkStats('api', from, clock.now());
    expect(results).toBeGreaterThan(500);
    expect(stats.total).toBe(results);
  });

  it('holds at most maxBufferedChecks raw results while the store is down, dropping the oldest, and never an incident', async () => {
    const clock = new ManualClock(4_000_020);
    const db = await openStore('sqlite::memory:');
    stores.push(db);
    const failing = { on: true };
    const { monitor, world } = await setup(clock, unwritable(db, failing), { maxBufferedChecks: 50 });
    let results = 0;
    let dropped = 0;
    monitor.on('result', () => results++);
    monitor.on('dropped', (e) => {
      dropped += e.checks;
    });
    const from = clock.now();
    await clock.advance(60_000);
    world.up = false; // an incident opens and resolves while nothing can be written
    await clock.advance(10_000);
    world.up = true;
    await clock.advance(60_000);
    expect(dropped).toBeGreaterThan(0);
    expect(results - dropped).toBeLessThanOrEqual(50);
    failing.on = false;
    await monitor.stop();
    const stored = await db.checks('api', { limit: 1000 });
    expect(stored.items).toHaveLength(results - dropped);
    // the newest were kept: the last check written is the last one made
    expect(stored.items[0]?.time).toBe(monitor.status()[0]?.last?.time);
    const incidents = await db.incidents({ limit: 10 });
    expect(incidents.items).toHaveLength(1);
    expect(incidents.items[0]?.end).not.toBeNull();
    const figures = await monitor.history.figures('api', { from, to: clock.now() });
    expect(figures?.downMs).toBeGreaterThan(9_000);
    expect(figures?.downMs).toBeLessThan(12_000);
  });
});
