/** The monitor probes only the components its Ownership gives it, and only those can be overdue. */
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
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
});
