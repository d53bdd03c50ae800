/** The monitor probes only the components its Ownership gives it, and only those can be overdue. */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { firstSlot } from '../../src/monitor/scheduler.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';

const YAML = `
components:
  - { name: a, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: b, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }
`;

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** The config of `yaml`, a manual clock and an in-memory store closed after the test. */
async function setup(yaml: string) {
  const parsed = parseConfig(yaml, { env: {} });
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const store = await openStore('sqlite::memory:');
  stores.push(store);
  return { config: parsed.config, clock: new ManualClock(Date.UTC(2025, 0, 1)), store };
}

describe('Monitor ownership', () => {
  it('probes only owned components; one another instance owns is never overdue here, one it owns and that hangs is', async () => {
    const { config, clock, store } = await setup(YAML);
    const mine = new Set(['a']);
    const probed: string[] = [];
    const stuck: Array<() => void> = [];
    const monitor = new Monitor({
      config,
      store,
      clock,
      ownership: { owns: (name) => mine.has(name) },
      probe: (c) => async (): Promise<ProbeResult> => {
        probed.push(c.name);
        // a owns a probe that never settles after its first run: its schedule is stuck
        const result: ProbeResult = { name: c.name, time: clock.now(), durationMs: 2, status: 'healthy' };
        if (c.name === 'a' && probed.filter((n) => n === 'a').length > 1)
          return new Promise((resolve) => stuck.push(() => resolve(result)));
        return result;
      },
    });
    await monitor.start();
    await clock.advance(10_000);
    expect(new Set(probed)).toEqual(new Set(['a']));
    expect(monitor.overdue()).toEqual(['a']);
    // b's lease comes here: it is probed from its next slot on, and is not overdue
    mine.add('b');
    await clock.advance(2_000);
    expect(probed).toContain('b');
    expect(monitor.overdue()).toEqual(['a']);
    for (const release of stuck) release();
    await monitor.stop();
  });

  it("takes over another instance's component where it left it: follow() shows its state, adopt() continues its failure streak", async () => {
    const { config, clock, store } = await setup(YAML.replace(/timeout: 500ms/g, 'timeout: 500ms, failuresToOpen: 3'));
    const failing = (c: { name: string }) => async (): Promise<ProbeResult> => ({
      name: c.name,
      time: clock.now(),
      durationMs: 2,
      status: 'unhealthy',
      error: 'refused',
    });
    // both running; the first owns a, sees two failures of three, then dies (its results were flushed)
    const first = new Monitor({ config, store, clock, ownership: { owns: (n) => n === 'a' }, probe: failing });
    const mine = new Set<string>();
    const second = new Monitor({ config, store, clock, ownership: { owns: (n) => mine.has(n) }, probe: failing });
    await first.start();
    await second.start();
    const failures: number[] = [];
    first.on('result', (r) => failures.push(r.time));
    while (failures.length < 1) await clock.advance(100);
    await first.flush();
    expect(second.status().find((s) => s.name === 'a')?.status).toBe('unknown'); // not read back yet
    // following: the second shows what the first saw, without checking
    await second.follow();
    const shown = second.status().find((s) => s.name === 'a');
    expect(shown?.status).toBe('unhealthy');
    expect(shown?.last?.time).toBe(failures[0]);
    expect(shown?.last?.error).toBe('refused');
    expect(shown?.incidentSince).toBeUndefined();
    // a second failure, then the first dies (stop flushes it); nobody followed since
    while (failures.length < 2) await clock.advance(100);
    await first.stop();
    // gained: adopt() reads the streak of two, so its own first failure opens the incident, dated from the streak's first
    mine.add('a');
    const own: number[] = [];
    second.on('result', (r) => own.push(r.time));
    const opened: number[] = [];
    second.on('incidentOpened', (e) => opened.push(e.start));
    await second.adopt(['a']);
    while (opened.length === 0) await clock.advance(100);
    expect(own).toHaveLength(1);
    expect(opened).toEqual([failures[0]]);
    await second.stop();
    const incidents = await store.incidents({ component: 'a', limit: 10 });
    expect(incidents.items.map((i) => i.start)).toEqual([failures[0]]);
  });

  it('runNow on a component another instance holds checks it and records nothing (its owner keeps the state)', async () => {
    const { config, clock, store } = await setup(YAML);
    const mine = new Set(['a']);
    const monitor = new Monitor({
      config,
      store,
      clock,
      ownership: { owns: (name) => mine.has(name) },
      probe: (c) => async (): Promise<ProbeResult> => ({ name: c.name, time: clock.now(), durationMs: 2, status: 'unhealthy', error: 'x' }),
    });
    await monitor.start();
    expect(monitor.checksHere('a')).toBe(true);
    expect(monitor.checksHere('b')).toBe(false);
    const result = await monitor.runNow('b');
    expect(result?.status).toBe('unhealthy');
    await monitor.flush();
    expect((await store.checks('b', { limit: 10 })).items).toEqual([]);
    expect(monitor.status().find((s) => s.name === 'b')?.status).toBe('unknown');
    await monitor.runNow('a');
    await monitor.flush();
    expect((await store.checks('a', { limit: 10 })).items).toHaveLength(1);
    await monitor.stop();
  });

  it('stores each scheduled result with the slot of its grid it ran for, and a check on demand with none', async () => {
    const { config, clock, store } = await setup(YAML);
    const monitor = new Monitor({
      config,
      store,
      clock,
      // a late start keeps its slot: every probe of a ends 30 ms after it started
      probe: (c) => async (): Promise<ProbeResult> => {
        const time = clock.now();
        if (c.name === 'a') await new Promise<void>((resolve) => clock.setTimeout(resolve, 30));
        return { name: c.name, time, durationMs: 2, status: 'healthy' };
      },
    });
    const t0 = clock.now();
    const scheduled: number[] = [];
    monitor.on('result', (r) => {
      if (r.name === 'a') scheduled.push(r.time);
    });
    await monitor.start();
    while (scheduled.length < 3) await clock.advance(10);
    // right after a scheduled run ended: the next is about a second away, so this one is on demand
    const onDemand = monitor.runNow('a');
    await clock.advance(30);
    await onDemand;
    await monitor.stop();
    const items = (await store.checks('a', { limit: 10 })).items.reverse();
    const grid = firstSlot('a', 1_000, t0);
    expect(items.map((c) => c.scheduledAt)).toEqual([grid, grid + 1_000, grid + 2_000, undefined]);
    expect(items.slice(0, 3).map((c) => c.time)).toEqual([grid, grid + 1_000, grid + 2_000]);
    expect(items.filter((c) => c.scheduledAt === undefined)).toHaveLength(1);
  });

  it("drops a result whose lease was lost and gained again under another fence while it ran (the slot was another instance's)", async () => {
    const { config, clock, store } = await setup(YAML);
    let fence = 1;
    const gates: Array<() => void> = [];
    const monitor = new Monitor({
      config,
      store,
      clock,
      ownership: { owns: (name) => name === 'a', fence: () => fence },
      probe: (c) => async (): Promise<ProbeResult> => {
        const time = clock.now();
        await new Promise<void>((resolve) => gates.push(resolve));
        return { name: c.name, time, durationMs: 2, status: 'healthy' };
      },
    });
    await monitor.start();
    const results: number[] = [];
    monitor.on('result', (r) => results.push(r.time));
    while (gates.length < 1) await clock.advance(100);
    fence = 2; // another instance took a and gave it back meanwhile
    gates.shift()?.();
    await clock.advance(0);
    expect(results).toEqual([]);
    while (gates.length < 1) await clock.advance(100);
    gates.shift()?.(); // a check begun and ended under fence 2 is recorded
    await clock.advance(0);
    expect(results).toHaveLength(1);
    await monitor.stop();
  });
});
