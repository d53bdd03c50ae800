import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { Confirmation, LocationsVerdict, Vote } from '../../src/monitor/ownership.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';

const YAML = `
defaults: { interval: 1s, timeout: 500ms, degradedAfter: 200ms, failuresToOpen: 3, successesToResolve: 2 }
components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]
`;

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A round the monitor asked for, answered by the test when it chooses. */
interface Asked {
  component: string;
  own: Vote;
  kind: 'open' | 'resolve';
  answer(verdict: LocationsVerdict): void;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const verdict = (down: boolean, failing: string[], of = 3): LocationsVerdict => ({ down, failing, of, insufficient: false });

/** A monitor whose probe returns `state.status`, with a confirmation whose rounds the test answers; `times` collects check starts. */
async function quorumMonitor(ownership?: { owns(c: string): boolean; fence(c: string): number | undefined }) {
  const clock = new ManualClock(9_000_000);
  const store = await openStore('sqlite::memory:');
  stores.push(store);
  const parsed = parseConfig(YAML, { env: {} });
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const state = { status: 'healthy' as ProbeResult['status'] };
  const times: number[] = [];
  const asked: Asked[] = [];
  const confirm: Confirmation = {
    every: 5_000,
    confirm: (component, own, kind) =>
      new Promise((resolve) => {
        asked.push({ component, own, kind, answer: resolve });
      }),
  };
  const monitor = new Monitor({
    config: parsed.config,
    store,
    clock,
    confirm,
    ...(ownership === undefined ? {} : { ownership }),
    probe: (c) => async (): Promise<ProbeResult> => {
      times.push(clock.now());
      const error = state.status === 'unhealthy' ? 'connection refused' : undefined;
      return { name: c.name, time: clock.now(), durationMs: 3, status: state.status, ...(error ? { error } : {}) };
    },
  });
  const events: string[] = [];
  monitor.on('incidentOpened', (e) => events.push(`opened@${e.start}`));
  monitor.on('incidentResolved', (e) => events.push(`resolved@${e.start}-${e.end}`));
  await monitor.start();
  const checks = async (n: number) => {
    const until = times.length + n;
    while (times.length < until) await clock.advance(1_000);
    await settle();
  };
  const api = () => monitor.status().find((s) => s.name === 'api');
  return { clock, store, state, times, asked, monitor, events, checks, api };
}

describe('Monitor with a quorum (HA): openings and resolutions wait for the other locations', () => {
  it('fewer than k locations failing: no incident, the component is partial, asked again once per `every`, and a pass ends it', async () => {
    const m = await quorumMonitor();
    await m.checks(2);
    m.state.status = 'unhealthy';
    await m.checks(3);
    expect(m.asked.map((a) => [a.component, a.kind, a.own])).toEqual([['api', 'open', { failed: true, error: 'connection refused' }]]);
    expect(m.events).toEqual([]);
    expect(m.api()?.status).toBe('unhealthy'); // no verdict yet: this location's own result
    m.asked[0]?.answer(verdict(false, ['here']));
    await settle();
    expect(m.events).toEqual([]);
    expect(m.api()).toMatchObject({ status: 'partial', locations: { failing: ['here'], of: 3 }, incidentSince: undefined });
    await m.monitor.flush();
    expect((await m.store.states())[0]?.locations).toEqual({ down: false, failing: ['here'], of: 3, at: expect.any(Number) });
    // still failing here: asked again only once `every` (5 s) has passed since the first round
    await m.checks(3);
    expect(m.asked).toHaveLength(1);
    await m.checks(2);
    expect(m.asked).toHaveLength(2);
    m.asked[1]?.answer(verdict(false, ['here']));
    await settle();
    expect(m.api()?.status).toBe('partial');
    m.state.status = 'healthy';
    await m.checks(1);
    expect(m.api()).toMatchObject({ status: 'healthy', locations: undefined });
    await m.monitor.flush();
    expect((await m.store.states())[0]?.locations).toBeUndefined();
    expect(m.events).toEqual([]);
    const f = await m.monitor.history.figures('api', { from: m.times[0] ?? 0, to: m.clock.now() });
    expect(f?.downMs).toBe(0); // partial is not down
    await m.monitor.stop();
  });

  it('k locations failing: the incident opens from the first failed check of the streak', async () => {
    const m = await quorumMonitor();
    await m.checks(1);
    m.state.status = 'unhealthy';
    await m.checks(3);
    const first = m.times[1];
    m.asked[0]?.answer(verdict(true, ['a', 'here']));
    await settle();
    expect(m.events).toEqual([`opened@${first}`]);
    expect(m.api()).toMatchObject({ status: 'unhealthy', incidentSince: first, locations: { failing: ['a', 'here'], of: 3 } });
    await m.monitor.stop();
  });

  it('a resolution waits for a round with fewer than k failing; the end is the first pass here', async () => {
    const m = await quorumMonitor();
    m.state.status = 'unhealthy';
    await m.checks(3);
    m.asked[0]?.answer(verdict(true, ['a', 'here']));
    await settle();
    const start = m.times[0];
    m.state.status = 'healthy';
    await m.checks(2);
    const firstPass = m.times[3];
    expect(m.asked.map((a) => [a.kind, a.own.failed])).toEqual([
      ['open', true],
      ['resolve', false],
    ]);
    m.asked[1]?.answer(verdict(true, ['a', 'b'])); // passing here, still failing from two others
    await settle();
    expect(m.events).toEqual([`opened@${start}`]);
    expect(m.api()?.incidentSince).toBe(start);
    await m.checks(5);
    expect(m.asked).toHaveLength(3);
    m.asked[2]?.answer(verdict(false, ['a']));
    await settle();
    expect(m.events).toEqual([`opened@${start}`, `resolved@${start}-${firstPass}`]);
    expect(m.api()).toMatchObject({ status: 'healthy', incidentSince: undefined, locations: undefined });
    await m.monitor.stop();
  });

  it('a verdict that arrives after the lease moved on (another fence) is dropped', async () => {
    const lease = { fence: 1 as number | undefined };
    const m = await quorumMonitor({ owns: () => lease.fence !== undefined, fence: () => lease.fence });
    m.state.status = 'unhealthy';
    await m.checks(3);
    lease.fence = 2; // lost and gained again meanwhile
    m.asked[0]?.answer(verdict(true, ['a', 'here']));
    await settle();
    expect(m.events).toEqual([]);
    expect(m.api()?.locations).toBeUndefined();
    await m.monitor.stop();
  });
});
