import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';

const YAML = `
defaults: { interval: 1s, timeout: 500ms, degradedAfter: 200ms, failuresToOpen: "3 of 5", successesToResolve: 2 }
components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]
`;

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A monitor on `store` whose probe returns `script` in order (healthy after it); `times` collects the start of each check. */
function scripted(clock: ManualClock, store: Store, script: ProbeResult['status'][], times: number[]) {
  const parsed = parseConfig(YAML, { env: {} });
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  let n = 0;
  return new Monitor({
    config: parsed.config,
    store,
    clock,
    probe: (c) => async (): Promise<ProbeResult> => {
      times.push(clock.now());
      return { name: c.name, time: clock.now(), durationMs: 3, status: script[n++] ?? 'healthy' };
    },
  });
}

describe('Monitor with failuresToOpen: "3 of 5"', () => {
  it('opens at the third failure of five, starts the incident at the first, and counts the degraded results between as down', async () => {
    const clock = new ManualClock(5_000_000);
    const store = await openStore('sqlite::memory:');
    stores.push(store);
    // five healthy, then failing every other check (degraded between), then healthy again
    const script: ProbeResult['status'][] = [
      'healthy',
      'healthy',
      'healthy',
      'healthy',
      'healthy',
      'unhealthy',
      'degraded',
      'unhealthy',
      'degraded',
      'unhealthy',
    ];
    const times: number[] = [];
    const monitor = scripted(clock, store, script, times);
    const events: string[] = [];
    monitor.on('incidentOpened', (e) => events.push(`opened@${e.start}`));
    monitor.on('incidentResolved', (e) => events.push(`resolved@${e.start}-${e.end}`));
    await monitor.start();
    while (times.length < 9) await clock.advance(1_000);
    expect(events).toEqual([]); // two failures among the last five
    await clock.advance(1_000);
    expect(times).toHaveLength(10);
    expect(events).toEqual([`opened@${times[5]}`]); // the first failure of the five, not the third
    while (times.length < 12) await clock.advance(1_000);
    expect(events).toEqual([`opened@${times[5]}`, `resolved@${times[5]}-${times[10]}`]);
    const from = times[0] ?? 0;
    const f = await monitor.history.figures('api', { from, to: clock.now() });
    const down = (times[10] ?? 0) - (times[5] ?? 0);
    expect(down).toBe(5_000);
    expect(f?.downMs).toBe(down); // the two degraded results inside the incident are down time
    expect(f?.observedMs).toBe(clock.now() - from);
    expect(f?.availability).toBeCloseTo((clock.now() - from - down) / (clock.now() - from), 12);
    expect(f?.incidentsStarted).toBe(1);
    expect(f?.mttrMs).toBe(down);
    await monitor.stop();
  });

  it('keeps a forming window across a restart, through the store', async () => {
    const clock = new ManualClock(6_000_000);
    const store = await openStore('sqlite::memory:');
    stores.push(store);
    const before: number[] = [];
    const a = scripted(clock, store, ['unhealthy', 'degraded', 'unhealthy'], before);
    await a.start();
    while (before.length < 3) await clock.advance(1_000);
    await a.stop();
    await clock.advance(10_000);
    const after: number[] = [];
    const b = scripted(clock, store, ['healthy', 'unhealthy'], after);
    const opened: number[] = [];
    b.on('incidentOpened', (e) => opened.push(e.start));
    await b.start();
    while (after.length < 2) await clock.advance(1_000);
    expect(opened).toEqual([before[0]]); // U D U | restart | H U: the third failure of five
    await b.stop();
  });
});
