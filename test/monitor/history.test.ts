/**
 * One read path: the live monitor's history, a history read straight from the store (as
 * `nines report` reads it, with no monitor running) and `nines report --json` give the same figures,
 * to the last digit, for the same windows at the same instant, on SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { report } from '../../src/cli/report.js';
import { parseConfig } from '../../src/config/index.js';
import type { Span } from '../../src/monitor/figures.js';
import { History } from '../../src/monitor/history.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';
import { history } from '../support/history.js';
import { random } from '../support/random.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 5, 1, 9, 17, 23);

const yaml = (storage: string) => `
storage: ${storage}
defaults:
  interval: 2m
  timeout: 10s
  degradedAfter: 5s
components:
  - { name: a, failuresToOpen: 2, successesToResolve: 2, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: b, failuresToOpen: 1, successesToResolve: 1, check: { type: tcp, host: 127.0.0.1, port: 1 } }
slos:
  - { name: a-slo, component: a, objective: 99.9, window: 7d }
  - { name: b-slo, component: b, objective: 99, window: 30d }
`;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const pgUp = await hasPostgres();
const backends = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'nines-history-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'nines.db');
      return { store: await openStore(`sqlite:${file}`), storage: `sqlite:${file}`, dir };
    },
  },
  {
    name: 'postgres',
    skip: !pgUp,
    async open() {
      const schema = uniqueName('nines_history');
      cleanup.push(() => dropSchema(schema));
      return { store: await openStore(pgUrl, { schema }), storage: undefined, dir: undefined };
    },
  },
];

/** A monitor over 90 days of stored history for a and b, then 6 h of its own probes, randomly up and down. */
async function running(store: Store, storage: string) {
  await store.migrate();
  for (const [name, seed] of [
    ['a', 11],
    ['b', 12],
  ] as const) {
    const batch = history(name, T0, seed);
    batch.gaps = batch.gaps.map((g) => ({ ...g, from: Math.round(g.from), to: Math.round(g.to) }));
    await store.write(batch);
  }
  const parsed = parseConfig(yaml(storage), { env: {} });
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const clock = new ManualClock(T0);
  const rnd = random(7);
  const up: Record<string, boolean> = { a: true, b: true };
  const monitor = new Monitor({
    config: parsed.config,
    store,
    clock,
    flushInterval: 10 * MINUTE,
    compactInterval: DAY,
    probe: (c) => async (): Promise<ProbeResult> => {
      if (rnd() < 0.1) up[c.name] = !up[c.name];
      return { name: c.name, time: clock.now(), durationMs: 3, status: up[c.name] ? 'healthy' : 'unhealthy' };
    },
  });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  await clock.advance(6 * HOUR);
  return { monitor, clock, config: parsed.config };
}

/** Windows ending now, closed ones in the past, and ones reaching into the monitor's own 6 h. */
function windows(now: number): Span[] {
  return [
    { from: now - HOUR, to: now },
    { from: now - DAY, to: now },
    { from: now - 30 * DAY, to: now },
    { from: now - 60 * DAY, to: now - 20 * DAY },
    { from: now - 7 * HOUR, to: now - 2 * HOUR },
  ];
}

describe.each(backends)('History on $name', (backend) => {
  it.skipIf(backend.skip)('gives the live monitor and a reader of the bare store the same figures at one instant', async () => {
    const { store } = await backend.open();
    cleanup.push(() => store.close());
    const { monitor, clock, config } = await running(store, 'sqlite:unused.db');
    await monitor.flush();
    const now = clock.now();
    const offline = await History.fromStore(store, config, now);
    let down = 0;
    for (const name of ['a', 'b']) {
      for (const window of windows(now)) {
        const live = await monitor.history.figures(name, window);
        expect(live, `${name} ${JSON.stringify(window)}`).toBeDefined();
        expect(await offline.figures(name, window), `${name} ${JSON.stringify(window)}`).toStrictEqual(live);
        // the memory holds the longest gauge or SLO window (30 d): further back it answers undefined, never a wrong figure
        const running = monitor.history.runningFigures(name, window, now);
        if (window.from >= now - 30 * DAY) expect(running, `${name} running`).toStrictEqual(live);
        else expect(running).toBeUndefined();
        down += live?.downMs ?? 0;
      }
      expect(await offline.daily(name, 90)).toStrictEqual(await monitor.history.daily(name, 90));
    }
    for (const slo of config.slos) expect(await offline.slo(slo), slo.name).toStrictEqual(await monitor.history.slo(slo));
    expect(down).toBeGreaterThan(0); // a history with no downtime would compare nothing
    expect(await offline.figures('nope', windows(now)[0] as Span)).toBeUndefined();
  });
});

describe('nines report and the live history', () => {
  it('print the same availability, downtime, MTBF and MTTR as the monitor holds, for a closed window', async () => {
    const sqlite = backends[0] as (typeof backends)[number];
    const { store, storage, dir } = await sqlite.open();
    cleanup.push(() => store.close());
    const { monitor, clock } = await running(store, storage as string);
    await monitor.flush();
    const now = clock.now();
    const file = join(dir as string, 'nines.yaml');
    writeFileSync(file, yaml(storage as string));
    const window = { from: now - 20 * DAY, to: now - HOUR };
    const out: string[] = [];
    const code = await report(
      { config: file, from: String(window.from), to: String(window.to), json: true },
      { out: (l) => out.push(l), err: (l) => out.push(l) },
      {},
      now,
    );
    expect(code, out.join('\n')).toBe(0);
    const printed = JSON.parse(out[0] as string) as { components: Array<{ name: string; figures: unknown }>; slos: unknown[] };
    for (const c of printed.components) expect(c.figures, c.name).toStrictEqual(await monitor.history.figures(c.name, window));
    expect(printed.components.map((c) => c.name)).toEqual(['a', 'b']);
  });
});
