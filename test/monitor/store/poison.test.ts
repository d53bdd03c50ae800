/**
 * A batch holding a row the database refuses for its data (a poison row), on SQLite and on real
 * PostgreSQL: the good rows land, the poison is set aside and counted, later batches flow.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { Monitor } from '../../../src/monitor/monitor.js';
import type { ProbeResult } from '../../../src/monitor/probe.js';
import { openStore } from '../../../src/monitor/store/open.js';
import { writeSplitting } from '../../../src/monitor/store/split-write.js';
import type { ProbeRecord, Store } from '../../../src/monitor/store/types.js';
import { ManualClock } from '../../../src/policy/index.js';
import { backends, batch } from './backends.js';

const T0 = Date.UTC(2025, 0, 1);
const idle = { openSince: undefined, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function opened(backend: (typeof backends)[number]): Promise<Store> {
  const location = await backend.create();
  cleanup.push(() => location.dispose());
  const store = await openStore(location.url, location.schema === undefined ? {} : { schema: location.schema });
  cleanup.push(() => store.close());
  await store.migrate();
  return store;
}

const good = (n: number, from: number): ProbeRecord[] =>
  Array.from({ length: n }, (_, i) => ({ component: 'api', time: from + i * 1000, durationMs: 5, status: 'healthy' }));

async function storedChecks(store: Store): Promise<ProbeRecord[]> {
  return (await store.checks('api', { limit: 10_000 })).items.sort((a, b) => a.time - b.time);
}

describe.each(backends)('poison rows on $name', (backend) => {
  it.skipIf(backend.skip)('lands the good rows of a batch, sets each poison row aside, and lets later batches through', async () => {
    const store = await opened(backend);
    await store.write(batch({ opened: [{ component: 'api', start: T0 - 5000 }] })); // an incident already stored
    const first = batch({
      // a time no database takes (NaN) in the middle of 60 good checks
      checks: [...good(30, T0), { component: 'api', time: Number.NaN, durationMs: 5, status: 'healthy' }, ...good(30, T0 + 30_000)],
      opened: [
        { component: 'api', start: T0 - 5000 }, // already there: the unique index refuses it
        { component: 'db', start: T0 + 1000, error: 'refused' },
      ],
      resolved: [
        { component: 'api', start: T0 - 5000, end: T0 + 2000 },
        { component: 'db', start: T0 + 1000, end: T0 + 9000 },
      ],
      gaps: [
        { component: 'api', from: T0 + 70_000, to: T0 + 60_000 }, // ends before it starts: the check constraint refuses it
        { component: 'db', from: T0 + 20_000, to: T0 + 25_000 },
      ],
      states: [{ component: 'api', firstCheckAt: T0, lastCheckAt: T0 + 59_000, tracker: idle }],
    });
    const outcome = await writeSplitting(store, first);
    expect(outcome.outage).toBeUndefined();
    expect(outcome.rejected.map((r) => `${r.kind}:${r.component}`).sort()).toEqual(['check:api', 'gap:api', 'incident:api']);
    for (const r of outcome.rejected) expect((r.error as Error).name).toBe('StoreError');
    expect((await storedChecks(store)).map((c) => c.time)).toEqual([...good(30, T0), ...good(30, T0 + 30_000)].map((c) => c.time));
    // both resolutions landed after their opening, the stored one and the new one
    const incidents = (await store.incidents({ limit: 10 })).items.map((i) => `${i.component}:${i.start - T0}..${(i.end ?? 0) - T0}`);
    expect(incidents.sort()).toEqual(['api:-5000..2000', 'db:1000..9000']);
    expect((await store.timeline('db', T0, T0 + 100_000)).gaps).toEqual([{ from: T0 + 20_000, to: T0 + 25_000 }]);
    expect((await store.timeline('api', T0, T0 + 100_000)).gaps).toEqual([]);
    expect((await store.states()).map((s) => s.lastCheckAt)).toEqual([T0 + 59_000]);
    // the next batch is not held back by anything
    expect(await writeSplitting(store, batch({ checks: good(3, T0 + 60_000) }))).toEqual({ rejected: [], duplicates: 0, stale: 0 });
    expect(await storedChecks(store)).toHaveLength(63);
  });

  it.skipIf(backend.skip)(
    'strips what a database is known to refuse before writing: NUL in error text, durations out of range',
    async () => {
      const store = await opened(backend);
      const outcome = await writeSplitting(
        store,
        batch({
          checks: [
            { component: 'api', time: T0, durationMs: Number.NaN, status: 'unhealthy', error: 'bad\u0000byte' },
            { component: 'api', time: T0 + 1, durationMs: 2 ** 40, status: 'healthy' },
          ],
          opened: [{ component: 'api', start: T0, error: '\u0000nul' }],
        }),
      );
      expect(outcome).toEqual({ rejected: [], duplicates: 0, stale: 0 });
      expect((await storedChecks(store)).map((c) => [c.durationMs, c.error])).toEqual([
        [0, 'badbyte'],
        [2 ** 31 - 1, undefined],
      ]);
      expect((await store.incidents({ limit: 1 })).items[0]?.error).toBe('nul');
    },
  );

  it.skipIf(backend.skip)(
    "keeps a monitor's incidents and figures right when its batch holds a poison row (an incident stored by a write whose answer was lost)",
    async () => {
      const store = await opened(backend);
      const clock = new ManualClock(T0);
      const parsed = parseConfig(
        'components:\n  - { name: api, interval: 1s, timeout: 500ms, degradedAfter: 200ms, failuresToOpen: 2, successesToResolve: 1, check: { type: tcp, host: 127.0.0.1, port: 1 } }\n',
        { env: {} },
      );
      if (!parsed.ok) throw new Error('config');
      const world = { up: true };
      const monitor = new Monitor({
        config: parsed.config,
        store,
        clock,
        flushInterval: 1000,
        probe: (c) => async (): Promise<ProbeResult> => ({
          name: c.name,
          time: clock.now(),
          durationMs: 3,
          status: world.up ? 'healthy' : 'unhealthy',
        }),
      });
      const rejected: string[] = [];
      monitor.on('rejected', (e) => rejected.push(`${e.kind}:${e.component}`));
      await monitor.start();
      cleanup.push(() => monitor.stop());
      await clock.advance(10_000); // healthy checks, every second
      await monitor.flush(); // every run due so far has recorded its result: `last` is the latest
      world.up = false;
      const failStart = (monitor.status()[0]?.last?.time ?? 0) + 1000;
      // the incident's row is already stored, as after a commit whose answer a partition swallowed
      await store.write(batch({ opened: [{ component: 'api', start: failStart }] }));
      await clock.advance(10_000); // ten failures: opens at the second
      world.up = true;
      await clock.advance(10_000); // resolves at the first pass
      await monitor.flush();
      expect(rejected).toEqual(['incident:api']);
      const checks = await storedChecks(store);
      expect(checks).toHaveLength(30);
      const incidents = (await store.incidents({ limit: 10 })).items;
      expect(incidents.map((i) => [i.start, i.end])).toEqual([[failStart, failStart + 10_000]]);
      const observed = T0 + 30_000 - (checks[0]?.time ?? 0);
      const figures = await monitor.history.figures('api', { from: T0, to: T0 + 30_000 });
      expect(figures).toMatchObject({ downMs: 10_000, upMs: observed - 10_000, incidentsStarted: 1, incidentsResolved: 1 });
      expect(figures?.availability).toBeCloseTo((observed - 10_000) / observed, 12);
    },
  );
});
