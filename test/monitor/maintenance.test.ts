import { afterEach, describe, expect, it } from 'vitest';
import { maintenanceSilencer } from '../../src/alerts/silencing.js';
import { parseConfig } from '../../src/config/load.js';
import type { NinesConfig } from '../../src/config/schema.js';
import { MaintenanceBook } from '../../src/monitor/maintenance.js';
import { fakeClockMonitor } from '../support/alerting.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 11, 7, 0, 0, 0); // a Monday

function config(extra: string): NinesConfig {
  const r = parseConfig(
    `defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: db, tags: [data], check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 2 } }
slos:
  - { name: db-slo, component: db, objective: 99.9, window: 30d }
${extra}`,
    { env: {} },
  );
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return r.config;
}

function problems(extra: string): string[] {
  const r = parseConfig(`components:\n  - { name: db, check: { type: tcp, host: 127.0.0.1, port: 1 } }\n${extra}`, { env: {} });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('maintenance config', () => {
  it('names every problem at its path', () => {
    expect(
      problems(`maintenance:
  - { name: a, title: A }
  - { name: b, title: B, start: '2026-12-07T02:00:00Z', end: '2026-12-07T01:00:00Z' }
  - { name: c, title: C, cron: '61 * * * *', duration: 1h }
  - { name: d, title: D, cron: '0 2 * * sun' }
  - { name: e, title: E, cron: '0 2 * * sun', duration: 1h, timezone: Mars/Olympus, components: [nope] }
  - { name: e, title: E, start: 'tomorrow', end: '2026-12-07T01:00:00Z', availability: maybe }`),
    ).toEqual([
      'maintenance[0].start: required for a one-off window (or give cron)',
      'maintenance[0].end: required for a one-off window (or give cron)',
      'maintenance[1].end: must be after start',
      'maintenance[2].cron: invalid cron expression: Invalid value for minute: 61',
      'maintenance[3].duration: required with cron: how long each occurrence lasts',
      'maintenance[4].timezone: expected an IANA time zone such as UTC or Europe/Berlin',
      'maintenance[4].components[0]: no component named "nope"',
      'maintenance[5].name: duplicate maintenance window name "e" (also maintenance[4])',
      'maintenance[5].start: expected an ISO 8601 date-time with an offset, like 2026-12-06T02:00:00Z',
      'maintenance[5].availability: expected exclude or count',
    ]);
  });
});

describe('MaintenanceBook', () => {
  const db = { name: 'db', tags: ['data'] };
  const api = { name: 'api', tags: [] };

  it('gives the occurrences of a cron window in its time zone, clipped to its bounds, and who it covers', () => {
    const [weekly] = config(`maintenance:
  - { name: sunday, title: Sunday, cron: '0 2 * * sun', duration: 2h, timezone: Europe/Berlin, tags: [data], start: '2026-12-13T01:30:00Z', end: '2026-12-27T02:00:00Z' }`).maintenance;
    if (weekly === undefined) throw new Error('no window');
    const book = new MaintenanceBook([weekly]);
    // 02:00 in Berlin is 01:00 UTC in winter; the first one is cut at start, the last at end
    expect(book.occurrences(weekly, T0, T0 + 30 * DAY)).toEqual([
      { from: Date.parse('2026-12-13T01:30:00Z'), to: Date.parse('2026-12-13T03:00:00Z') },
      { from: Date.parse('2026-12-20T01:00:00Z'), to: Date.parse('2026-12-20T03:00:00Z') },
      { from: Date.parse('2026-12-27T01:00:00Z'), to: Date.parse('2026-12-27T02:00:00Z') },
    ]);
    expect(book.activeFor(db, Date.parse('2026-12-20T02:59:59.999Z')).map((w) => w.name)).toEqual(['sunday']);
    expect(book.activeFor(db, Date.parse('2026-12-20T03:00:00Z'))).toEqual([]);
    expect(book.activeFor(api, Date.parse('2026-12-20T02:00:00Z'))).toEqual([]);
    expect(book.current(weekly, T0)).toEqual({ from: Date.parse('2026-12-13T01:30:00Z'), to: Date.parse('2026-12-13T03:00:00Z') });
    expect(book.current(weekly, Date.parse('2026-12-28T00:00:00Z'))).toBeUndefined();
  });

  it('merges overlapping windows into the spans availability leaves out, only those that exclude', () => {
    const c = config(`maintenance:
  - { name: one, title: One, start: '2026-12-07T01:00:00Z', end: '2026-12-07T03:00:00Z', components: [db] }
  - { name: two, title: Two, start: '2026-12-07T02:00:00Z', end: '2026-12-07T04:00:00Z' }
  - { name: counted, title: Counted, start: '2026-12-07T05:00:00Z', end: '2026-12-07T06:00:00Z', availability: count }`);
    const book = new MaintenanceBook(c.maintenance);
    expect(book.excluded(db, T0, T0 + DAY)).toEqual([{ from: T0 + HOUR, to: T0 + 4 * HOUR }]);
    expect(book.excluded(api, T0, T0 + DAY)).toEqual([{ from: T0 + 2 * HOUR, to: T0 + 4 * HOUR }]);
    const silenced = maintenanceSilencer(book, () => c.components);
    expect(silenced({ component: 'db' }, T0 + 90 * MIN)).toEqual(['maintenance:one']);
    expect(silenced({ component: 'api' }, T0 + 90 * MIN)).toEqual([]);
    expect(silenced({ alertname: 'X' }, T0 + 150 * MIN)).toEqual(['maintenance:two']);
    expect(silenced({ component: 'api' }, T0 + 5 * HOUR)).toEqual(['maintenance:counted']);
  });
});

describe('maintenance on a monitor (fake clock)', () => {
  let dispose: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await dispose?.();
    dispose = undefined;
  });

  it('leaves its time out of availability to the millisecond, and silences the alerts of what it covers', async () => {
    // maintenance 00:30–01:00 covers db; db is down 00:20–00:40 (into it) and 00:45–00:50 (wholly in it)
    const c = config(`alerts: { evaluationInterval: 10s, rules: [{ name: down, type: incident, for: 0s }] }
maintenance:
  - { name: db-upgrade, title: DB upgrade, start: '2026-12-07T00:30:00Z', end: '2026-12-07T01:00:00Z', components: [db] }
  - { name: api-counted, title: API counted, start: '2026-12-07T00:30:00Z', end: '2026-12-07T01:00:00Z', components: [api], availability: count }`);
    const m = await fakeClockMonitor(c, T0);
    dispose = m.dispose;
    const until = async (minute: number) => {
      while (m.clock.now() < T0 + minute * MIN) await m.step(1);
    };
    // the incident rule's alerts (the SLO's burn-rate alerts fire and are silenced alike)
    const seen = () =>
      m.events
        .splice(0)
        .filter((e) => e.alert.labels.rule === 'down')
        .map((e) => `${e.kind} ${e.alert.labels.component}`);
    await until(20);
    m.down.add('db');
    await until(21);
    expect(seen()).toEqual(['firing db']);
    await until(31);
    expect(new Set(m.alerts.active().map((a) => a.silencedBy?.join()))).toEqual(new Set(['maintenance:db-upgrade']));
    await until(40);
    m.down.delete('db');
    await until(45);
    expect(seen()).toEqual(['resolved db']); // it was announced, so its end is too
    m.down.add('db');
    m.down.add('api'); // api's window counts: its alerts are silenced, its downtime counts
    await until(50);
    m.down.delete('db');
    m.down.delete('api');
    await until(70);
    expect(seen()).toEqual([]); // began and ended in maintenance: nobody is woken

    const now = m.clock.now();
    const window = { from: T0, to: now };
    const stored = await m.monitor.history.figures('db', window);
    const running = m.monitor.history.runningFigures('db', window, now);
    const incidents = (await m.monitor.history.incidents({ component: 'db', limit: 10 })).items.reverse();
    expect(incidents).toHaveLength(2);
    // the probes run on a grid offset by a hash of the name: the first probe, and the incidents, are that far past the minute
    const offset = (incidents[0]?.start ?? 0) - (T0 + 20 * MIN);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(10_000);
    const observedMs = now - (T0 + offset) - 30 * MIN;
    const downMs = 30 * MIN - (T0 + 20 * MIN + offset - T0); // only 00:20+offset to 00:30 counts
    expect(stored).toMatchObject({ downMs, maintenanceMs: 30 * MIN, observedMs, unobservedMs: offset + 30 * MIN });
    expect(stored?.availability).toBe((observedMs - downMs) / observedMs);
    expect(running).toEqual(stored);
    expect(stored?.mttrMs).toBe(downMs / 2); // repairs net of maintenance: 10 min − offset, and 0
    // a window that counts changes no figure
    const api = await m.monitor.history.figures('api', window);
    const apiIncident = (await m.monitor.history.incidents({ component: 'api', limit: 1 })).items[0];
    expect(api).toMatchObject({ maintenanceMs: 0, downMs: (apiIncident?.end ?? 0) - (apiIncident?.start ?? 0) });
    // the SLO's budget counts the same downtime
    const slo = await m.monitor.history.slo(m.monitor.config.slos[0] as NinesConfig['slos'][number]);
    expect(slo?.figures.downMs).toBe(downMs);
  });
});
