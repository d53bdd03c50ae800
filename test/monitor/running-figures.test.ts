import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import type { Span } from '../../src/monitor/figures.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { BURN_WINDOWS } from '../../src/monitor/store-figures.js';
import { ManualClock } from '../../src/policy/index.js';
import { monitorMetrics } from '../../src/server/metrics.js';
import { WINDOWS } from '../../src/server/time.js';
import { history } from '../support/history.js';
import { random } from '../support/random.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 5, 1, 9, 17, 23);
const RELOAD = HOUR;

const YAML = `
defaults:
  interval: 2m
  timeout: 10s
  degradedAfter: 5s
components:
  - name: a
    failuresToOpen: 2
    successesToResolve: 2
    check: { type: tcp, host: 127.0.0.1, port: 1 }
  - name: b
    failuresToOpen: 3
    successesToResolve: 1
    check: { type: tcp, host: 127.0.0.1, port: 1 }
slos:
  - { name: a-slo, component: a, objective: 99.9, window: 7d }
  - { name: b-slo, component: b, objective: 99, window: 45d }
`;

function config() {
  const r = parseConfig(YAML, { env: {} });
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.config;
}

const pgUp = await hasPostgres();

const backends = [
  {
    name: 'sqlite',
    skip: false,
    async open(): Promise<{ store: Store; dispose: () => Promise<void> }> {
      const dir = mkdtempSync(join(tmpdir(), 'nines-running-'));
      const store = await openStore(`sqlite:${join(dir, 'nines.db')}`);
      return { store, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    skip: !pgUp,
    async open(): Promise<{ store: Store; dispose: () => Promise<void> }> {
      const schema = uniqueName('nines_running');
      const store = await openStore(pgUrl, { schema });
      const dispose = () => dropSchema(schema);
      return { store, dispose };
    },
  },
];

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A store with 90 days of history for `a` and `b`, up to T0. */
async function seeded(backend: (typeof backends)[number], seed: number): Promise<Store> {
  const { store, dispose } = await backend.open();
  cleanup.push(dispose, () => store.close());
  await store.migrate();
  for (const [name, offset] of [
    ['a', 0],
    ['b', 1],
  ] as const) {
    const batch = history(name, T0, seed + offset);
    // whole ms: PostgreSQL keeps times as bigint
    batch.gaps = batch.gaps.map((g) => ({ ...g, from: Math.round(g.from), to: Math.round(g.to) }));
    await store.write(batch);
  }
  return store;
}

/** `store` whose timeline reads fail while `failing.on` (for the components it names, or all). */
function unreadable(db: Store, failing: { on: boolean; only?: string }): Store {
  return new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'timeline') {
        return (component: string, from: number, to: number) =>
          failing.on && (failing.only === undefined || failing.only === component)
            ? Promise.reject(new Error('store down'))
            : target.timeline(component, from, to);
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A monitor whose components flip between up and down at random (seeded); `force` pins one. */
function monitorOn(store: Store, clock: ManualClock, seed: number, force: Record<string, boolean>, onError?: () => void) {
  const rnd = random(seed);
  const up: Record<string, boolean> = { a: true, b: true };
  return new Monitor({
    config: config(),
    store,
    clock,
    flushInterval: 10 * MINUTE,
    compactInterval: DAY,
    figuresReloadInterval: RELOAD,
    ...(onError ? { onError } : {}),
    probe: (c) => async (): Promise<ProbeResult> => {
      if (rnd() < 0.12) up[c.name] = !up[c.name];
      const healthy = force[c.name] ?? up[c.name];
      return { name: c.name, time: clock.now(), durationMs: 3, status: healthy ? 'healthy' : 'unhealthy' };
    },
  });
}

/** What the comparisons covered, so a history that tests nothing fails. */
interface Seen {
  windows: number;
  down: number;
  unobserved: number;
  resolved: number;
  startedBefore: number;
  open: number;
}

/**
 * Running figures equal the store's, exactly, at this instant: the gauges' windows, every burn and
 * SLO window, closed windows and random ones inside the longest, for every component and SLO.
 */
async function agree(monitor: Monitor, store: Store, clock: ManualClock, rnd: () => number, seen: Seen): Promise<void> {
  const now = clock.now();
  const lengths = [...Object.values(WINDOWS), ...Object.values(BURN_WINDOWS), 45 * DAY];
  const windows: Span[] = lengths.map((ms) => ({ from: now - ms, to: now }));
  for (let i = 0; i < 6; i++) {
    const from = Math.round(now - 45 * DAY * rnd());
    windows.push({ from, to: Math.round(from + (now - from) * 1.2 * rnd()) }); // some end before now, some after
  }
  for (const name of ['a', 'b']) {
    // windows that begin exactly where an incident ends and end exactly where one starts: the half-open edges
    const { incidents } = await store.timeline(name, now - 45 * DAY, now);
    const edges = incidents
      .slice(-3)
      .flatMap((i) => [...(i.end === null ? [] : [{ from: i.end, to: i.end + HOUR }]), { from: i.start - HOUR, to: i.start }]);
    for (const window of [...windows, ...edges]) {
      const running = monitor.history.runningFigures(name, window, now);
      expect(running, `${name} ${JSON.stringify(window)}`).toBeDefined();
      expect(running, `${name} ${JSON.stringify(window)}`).toStrictEqual(await monitor.history.figures(name, window));
      seen.windows++;
      if ((running?.downMs ?? 0) > 0) seen.down++;
      if ((running?.unobservedMs ?? 0) > 0) seen.unobserved++;
      if ((running?.incidentsResolved ?? 0) > 0) seen.resolved++;
      const stored = await store.timeline(name, window.from, Math.min(window.to, now));
      if (stored.incidents.some((i) => i.start < window.from)) seen.startedBefore++;
    }
    if (monitor.status().find((s) => s.name === name)?.incidentSince !== undefined) seen.open++;
  }
  for (const slo of monitor.config.slos) {
    const running = monitor.history.runningSlo(slo, now);
    expect(running, slo.name).toBeDefined();
    expect(running, slo.name).toStrictEqual(await monitor.history.slo(slo));
  }
}

/** Resolves at the monitor's next completed load of the figures' history. */
const nextLoad = (monitor: Monitor) => new Promise<void>((resolve) => monitor.on('figuresLoaded', () => resolve()));

describe.each(backends)('running figures on $name', (backend) => {
  it.skipIf(backend.skip)(
    'equal the store figures exactly through incidents, gaps, sliding windows, a restart and a drift correction',
    async () => {
      for (const seed of [1, 2]) {
        const store = await seeded(backend, seed * 10);
        const clock = new ManualClock(T0);
        const rnd = random(seed);
        const seen: Seen = { windows: 0, down: 0, unobserved: 0, resolved: 0, startedBefore: 0, open: 0 };
        const force: Record<string, boolean> = {};
        const first = monitorOn(store, clock, seed, force);
        await first.start(); // loaded from the store's 90 days
        await agree(first, store, clock, rnd, seen);
        for (let i = 0; i < 6; i++) {
          await clock.advance(25 * MINUTE); // incidents open and resolve, a reload runs now and then
          await agree(first, store, clock, rnd, seen);
        }
        force.a = false;
        await clock.advance(15 * MINUTE);
        expect(first.status().find((s) => s.name === 'a')?.incidentSince).toBeDefined();
        await agree(first, store, clock, rnd, seen); // an open incident
        await first.stop();
        await clock.advance(4 * DAY); // the windows slide past old incidents; the stopped time is unobserved
        await agree(first, store, clock, rnd, seen);

        const second = monitorOn(store, clock, seed + 100, force);
        const reloaded = nextLoad(second);
        await second.start(); // a restart: state reloaded from the store, the incident still open
        expect(second.status().find((s) => s.name === 'a')?.incidentSince).toBeDefined();
        await agree(second, store, clock, rnd, seen);
        for (let i = 0; i < 4; i++) {
          if (i === 3) delete force.a; // resolved over an hour after the restart: the 1 h window starts inside the incident, after its gap
          await clock.advance(20 * MINUTE);
          await agree(second, store, clock, rnd, seen);
        }

        await reloaded; // the scheduled reload inside those 80 minutes is done, the next is an hour away
        // drift: the store learns what the monitor did not record (written by hand, or by a flush memory never saw)
        const now = clock.now();
        await store.write({
          checks: [],
          opened: [{ component: 'b', start: now - 20 * DAY }],
          resolved: [{ component: 'b', start: now - 20 * DAY, end: now - 20 * DAY + 3 * HOUR }],
          gaps: [{ component: 'a', from: now - 10 * DAY, to: now - 10 * DAY + 2 * HOUR }],
          states: [],
        });
        const month = { from: now - 30 * DAY, to: now };
        expect(second.history.runningFigures('b', month, now)).not.toStrictEqual(await second.history.figures('b', month));
        const loaded = nextLoad(second);
        await clock.advance(RELOAD);
        await loaded;
        await agree(second, store, clock, rnd, seen);
        await second.stop();

        expect(seen.down).toBeGreaterThan(seen.windows / 3);
        expect(seen.unobserved).toBeGreaterThan(seen.windows / 3);
        expect(seen.resolved).toBeGreaterThan(seen.windows / 3);
        expect(seen.startedBefore).toBeGreaterThan(10);
        expect(seen.open).toBeGreaterThan(1);
      }
    },
    120_000,
  );

  it.skipIf(backend.skip)(
    'are left out while the history cannot be read, never partial, and catch up once it can; pruning keeps what windows need',
    async () => {
      const db = await seeded(backend, 5);
      // an incident from before the 45-day horizon into it, with a gap before the horizon: pruning must keep the gap
      const start = T0 - 45 * DAY - 2 * HOUR;
      await db.write({
        checks: [],
        opened: [{ component: 'b', start }],
        resolved: [{ component: 'b', start, end: T0 - 45 * DAY + 30 * HOUR }],
        gaps: [{ component: 'b', from: start + HOUR, to: start + 90 * MINUTE }],
        states: [],
      });
      const failing: { on: boolean; only?: string } = { on: true };
      const store = unreadable(db, failing);
      const clock = new ManualClock(T0);
      let failed = () => {};
      const monitor = monitorOn(store, clock, 5, {}, () => failed());
      await monitor.start(); // the store answers everything but timelines
      const registry = new Registry();
      monitorMetrics(registry, monitor, clock);
      const day = { from: T0 - DAY, to: T0 };
      expect(monitor.history.runningFigures('a', day)).toBeUndefined();
      let text = await registry.metrics();
      expect(text).toMatch(/^nines_component_up\{component="a"\}/m);
      expect(text).not.toMatch(/^nines_availability_ratio\{/m);
      expect(text).not.toMatch(/^nines_slo_burn_rate\{/m);

      failing.only = 'b'; // a reads, b fails: a is answered, b is not (no partial timeline)
      await monitor.history.loadRunning();
      expect(monitor.history.runningFigures('a', day)).toStrictEqual(await monitor.history.figures('a', day));
      expect(monitor.history.runningFigures('b', day)).toBeUndefined();
      text = await registry.metrics();
      expect(text).toMatch(/^nines_availability_ratio\{component="a",window="30d"\}/m);
      expect(text).not.toMatch(/^nines_availability_ratio\{component="b"/m);
      expect(text).toMatch(/^nines_slo_burn_rate\{slo="a-slo",window="5m"\}/m);
      expect(text).not.toMatch(/^nines_error_budget_remaining_ratio\{slo="b-slo"\}/m);

      failing.on = false; // the next scrape loads what is missing
      text = await registry.metrics();
      for (const window of Object.keys(WINDOWS)) expect(text).toContain(`nines_availability_ratio{component="b",window="${window}"}`);
      for (const window of Object.keys(BURN_WINDOWS)) expect(text).toContain(`nines_slo_burn_rate{slo="b-slo",window="${window}"}`);

      // a day later with every scheduled reload failing: pruned in memory, still equal to the store
      failing.on = true;
      failing.only = undefined;
      const reloadFailed = new Promise<void>((resolve) => {
        failed = resolve;
      });
      await clock.advance(DAY);
      await reloadFailed;
      failing.on = false;
      const rnd = random(9);
      await agree(monitor, store, clock, rnd, { windows: 0, down: 0, unobserved: 0, resolved: 0, startedBefore: 0, open: 0 });
      await monitor.stop();
    },
    120_000,
  );
});
