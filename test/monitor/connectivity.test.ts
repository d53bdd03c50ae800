import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { NinesConfig } from '../../src/config/schema.js';
import { ManualClock } from '../../src/core/clock.js';
import { ConnectivityGuard } from '../../src/monitor/connectivity.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { openStore } from '../../src/monitor/store/open.js';
import { fakeClockMonitor } from '../support/alerting.js';

const T0 = Date.UTC(2026, 11, 7);
const MIN = 60_000;

function config(components: string, extra = ''): NinesConfig {
  const r = parseConfig(
    `defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 2, successesToResolve: 1 }
components:
${components}
${extra}`,
    { env: {} },
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.config;
}

const tcp = (name: string, more = '') => `  - { name: ${name}, ${more}check: { type: tcp, host: 127.0.0.1, port: 1 } }`;

describe('ConnectivityGuard', () => {
  const guardOf = (c: NinesConfig) => {
    const g = new ConnectivityGuard(c.connectivity);
    for (const component of c.components) g.add(component);
    return g;
  };

  it('suspects the network once every network target fails, not before, and not for local checks', () => {
    const g = guardOf(
      config([tcp('a'), tcp('b'), tcp('c'), '  - { name: disk, check: { type: disk, path: /, minFreeRatio: 0.01 } }'].join('\n')),
    );
    expect(g.observe('a', true, 1).state.suspect).toBe(false);
    expect(g.observe('disk', false, 2).state.suspect).toBe(false);
    expect(g.observe('c', true, 2).state.suspect).toBe(false);
    expect(g.observe('b', true, 3)).toEqual({ changed: true, state: { suspect: true, reason: 'all-failing', since: 3 } });
    expect(g.observe('a', true, 4).changed).toBe(false);
    expect(g.observe('b', false, 5)).toEqual({ changed: true, state: { suspect: false, reason: undefined, since: undefined } });
  });

  it('needs minTargets network targets, and can be turned off', () => {
    const two = guardOf(config([tcp('a'), tcp('b')].join('\n')));
    two.observe('a', true, 1);
    expect(two.observe('b', true, 2).state.suspect).toBe(false); // two targets down are likelier down than cut off
    const lowered = guardOf(config([tcp('a'), tcp('b')].join('\n'), 'connectivity: { minTargets: 2 }'));
    lowered.observe('a', true, 1);
    expect(lowered.observe('b', true, 2).state.suspect).toBe(true);
    const off = guardOf(config([tcp('a'), tcp('b'), tcp('c')].join('\n'), 'connectivity: { allFailing: false }'));
    off.observe('a', true, 1);
    off.observe('b', true, 1);
    expect(off.observe('c', true, 2).state.suspect).toBe(false);
  });

  it('trusts a canary: suspect while it fails, and an answering canary vouches for the network when all else fails', () => {
    const g = guardOf(config([tcp('gw', 'canary: true, '), tcp('a'), tcp('b'), tcp('c')].join('\n')));
    expect(g.observe('gw', true, 1).state).toEqual({ suspect: true, reason: 'canary', since: 1 });
    g.observe('a', true, 2);
    expect(g.observe('b', true, 3).state).toEqual({ suspect: true, reason: 'canary', since: 1 });
    expect(g.observe('gw', false, 4).state.suspect).toBe(false); // a real outage of a and b: it pages
    g.remove('gw');
    g.observe('c', true, 5);
    expect(g.observe('b', true, 5).state.reason).toBe('all-failing');
  });
});

describe('the connectivity guard on a monitor (fake clock)', () => {
  let dispose: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await dispose?.();
    dispose = undefined;
  });

  it('records the time every target failed as unobserved, opens no incident and pages nobody but says why', async () => {
    const c = config([tcp('a'), tcp('b'), tcp('c')].join('\n'), 'alerts: { rules: [{ name: open, type: incident, for: 0s }] }');
    const m = await fakeClockMonitor(c, T0);
    dispose = m.dispose;
    await m.step(60); // ten minutes up
    for (const n of ['a', 'b', 'c']) m.down.add(n);
    await m.step(30); // five minutes with every target failing
    expect(m.monitor.connectivity()).toMatchObject({ suspect: true, reason: 'all-failing' });
    expect(m.monitor.status().map((s) => [s.name, s.status, s.incidentSince])).toEqual([
      ['a', 'unknown', undefined],
      ['b', 'unknown', undefined],
      ['c', 'unknown', undefined],
    ]);
    expect(m.events.map((e) => `${e.kind} ${e.alert.labels.alertname} ${e.alert.labels.severity}`)).toEqual([
      'firing NinesMonitorConnectivityLost ticket',
    ]);
    for (const n of ['a', 'b', 'c']) m.down.delete(n);
    await m.step(30);
    expect(m.monitor.connectivity().suspect).toBe(false);
    expect(m.events.map((e) => `${e.kind} ${e.alert.labels.alertname}`)).toEqual([
      'firing NinesMonitorConnectivityLost',
      'resolved NinesMonitorConnectivityLost',
    ]);
    const now = m.clock.now();
    for (const n of ['a', 'b', 'c']) {
      const f = await m.monitor.history.figures(n, { from: T0, to: now });
      const probes = (await m.monitor.history.probes(n, { limit: 1000 })).items.reverse();
      expect(f?.downMs, n).toBe(0);
      expect((await m.monitor.history.incidents({ component: n, limit: 5 })).items).toEqual([]);
      // unobserved: from the last check that counted + interval + timeout to the first that counted after
      const unobserved = probes.filter((p) => p.error?.endsWith("(unobserved: the monitor's own network is suspect)"));
      const lastCounted = probes.filter((p) => p.time < (unobserved[0]?.time ?? 0)).at(-1)?.time ?? 0;
      const firstCounted = probes.find((p) => p.time > (unobserved.at(-1)?.time ?? 0))?.time ?? 0;
      const first = probes[0]?.time ?? 0;
      const gap = firstCounted - (lastCounted + 11_000);
      expect(unobserved.length, n).toBeGreaterThanOrEqual(29); // the first to fail counted once, before the others failed
      expect(gap, n).toBeGreaterThan(4 * MIN);
      expect(f?.observedMs, n).toBe(now - first - gap);
      expect(f?.availability, n).toBe(1);
    }
  });

  it('pages for a real outage while a canary answers, and holds it while the canary fails', async () => {
    const c = config(
      [tcp('gw', 'canary: true, '), tcp('a'), tcp('b')].join('\n'),
      'alerts: { rules: [{ name: open, type: incident, for: 0s }] }',
    );
    const m = await fakeClockMonitor(c, T0);
    dispose = m.dispose;
    await m.step(6);
    m.down.add('a');
    m.down.add('b');
    await m.step(6);
    expect(m.events.map((e) => `${e.kind} ${e.alert.labels.component}`)).toEqual(['firing a', 'firing b']);
    m.events.length = 0;
    m.down.add('gw'); // now the monitor itself seems cut off: b recovers unseen, nothing new opens
    m.down.delete('b');
    await m.step(6);
    expect(m.monitor.connectivity()).toMatchObject({ suspect: true, reason: 'canary' });
    expect(m.events.map((e) => `${e.kind} ${e.alert.labels.alertname} ${e.alert.labels.component ?? ''}`).sort()).toEqual([
      'firing NinesMonitorConnectivityLost ',
      'resolved NinesIncidentOpen b',
    ]);
    expect(m.monitor.status().find((s) => s.name === 'a')).toMatchObject({ status: 'unknown' });
  });
});

describe('a probe the monitor stalled (fake clock)', () => {
  it('counts for nothing: no incident, the status kept, the raw result marked', async () => {
    const one = parseConfig(
      `defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1 }
components:
${tcp('a')}`,
      { env: {} },
    );
    if (!one.ok) throw new Error('bad config');
    const clock = new ManualClock(T0);
    const store = await openStore('sqlite::memory:');
    let stall = false;
    const monitor = new Monitor({
      config: one.config,
      store,
      clock,
      probe: (comp) => async () =>
        stall
          ? {
              name: comp.name,
              time: clock.now(),
              durationMs: 1700,
              status: 'unhealthy',
              error: 'timeout noticed 700 ms late: the monitor was stalled',
              stalledMs: 700,
            }
          : { name: comp.name, time: clock.now(), durationMs: 1, status: 'healthy' },
    });
    await monitor.start();
    await clock.advance(30_000);
    stall = true;
    await clock.advance(10_000);
    expect(monitor.status()[0]).toMatchObject({ status: 'healthy', incidentSince: undefined });
    stall = false;
    await clock.advance(10_000);
    await monitor.stop();
    const probes = (await monitor.history.probes('a', { limit: 100 })).items;
    expect(probes.filter((p) => p.status === 'unhealthy').map((p) => p.error)).toEqual([
      'timeout noticed 700 ms late: the monitor was stalled (unobserved: the monitor was stalled)',
    ]);
    expect((await monitor.history.incidents({ component: 'a', limit: 5 })).items).toEqual([]);
    expect((await monitor.history.figures('a', { from: T0, to: clock.now() }))?.downMs).toBe(0);
    await store.close();
  });
});
