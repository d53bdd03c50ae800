/** The monitor's notebook: acknowledgements held in memory for the alerts (and restored at start), updates and postmortem links in the store. */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';

const YAML = `
defaults: { interval: 1s, timeout: 500ms, degradedAfter: 200ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
`;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function start(store: Store, clock: ManualClock, world: { up: boolean }): Promise<Monitor> {
  const parsed = parseConfig(YAML, { env: {} });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const monitor = new Monitor({
    config: parsed.config,
    store,
    clock,
    probe: (c) => async () => ({ name: c.name, time: clock.now(), durationMs: 1, status: world.up ? 'healthy' : 'unhealthy' }),
  });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  return monitor;
}

describe('IncidentNotebook', () => {
  it('acknowledges the open incident, even one still in the write buffer, and a restart remembers it until it resolves', async () => {
    const store = await openStore('sqlite::memory:');
    cleanup.push(() => store.close());
    const clock = new ManualClock(Date.UTC(2026, 2, 1));
    const world = { up: true };
    const a = await start(store, clock, world);
    world.up = false;
    await clock.advance(1_000); // opened, not flushed yet
    const acknowledged = () => a.status()[0]?.acknowledged;
    expect(acknowledged()).toBe(false);
    const revision = a.notebook.revision;
    // ids follow opening order: the first incident is 1; the notebook flushes before it looks
    expect(await a.notebook.acknowledge(1, 'Ada')).toMatchObject({ id: 1, component: 'api', end: null });
    expect(a.notebook.revision).toBeGreaterThan(revision);
    expect(a.status()[0]?.acknowledged).toBe(true);
    expect(await a.notebook.acknowledge(2, undefined)).toBeUndefined();
    expect(await a.notebook.addUpdate(2, { message: 'x', visibility: 'public' })).toBeUndefined();
    expect(await a.notebook.setPostmortem(2, 'https://wiki.example.com/pm')).toBeUndefined();
    const since = a.status()[0]?.incidentSince;
    await a.stop();

    const b = await start(store, clock, world);
    expect(b.status()[0]).toMatchObject({ incidentSince: since, acknowledged: true });
    world.up = true;
    await clock.advance(1_000);
    expect(b.status()[0]).toMatchObject({ incidentSince: undefined, acknowledged: false });
    world.up = false;
    await clock.advance(1_000);
    expect(b.status()[0]?.incidentSince).toBeDefined();
    expect(b.status()[0]?.acknowledged).toBe(false); // a new incident
    const update = await b.notebook.addUpdate(1, { message: 'fixed by a restart', visibility: 'internal', status: 'resolved', by: 'Ada' });
    expect(update).toMatchObject({ incidentId: 1, time: clock.now(), visibility: 'internal', status: 'resolved', by: 'Ada' });
    expect(await b.notebook.setPostmortem(1, 'https://wiki.example.com/pm')).toMatchObject({ id: 1 });
    expect((await b.history.incidentNotes([1], { internal: false })).get(1)).toMatchObject({
      acknowledged: { by: 'Ada' },
      postmortem: 'https://wiki.example.com/pm',
      updates: [],
    });
    expect((await b.history.incidentNotes([1], { internal: true })).get(1)?.updates).toEqual([update]);
  });
});
