import { afterEach, describe, expect, it } from 'vitest';
import { matches, Silences } from '../../src/alerts/silences.js';
import { parseConfig } from '../../src/config/load.js';
import { openStore } from '../../src/monitor/store/open.js';
import { backends } from '../monitor/store/backends.js';
import { fakeClockMonitor } from '../support/alerting.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const T0 = Date.UTC(2026, 11, 7);
const MIN = 60_000;
const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();
const m = (name: string, value: string, isRegex = false, isEqual = true) => ({ name, value, isRegex, isEqual });

describe('silence matchers', () => {
  it('match as Alertmanager does: equal, not equal, regex anchored at both ends, a missing label is empty', () => {
    const labels = { alertname: 'NinesIncidentOpen', component: 'api-eu', severity: 'page' };
    expect(matches([m('component', 'api-eu')], labels)).toBe(true);
    expect(matches([m('component', 'api')], labels)).toBe(false);
    expect(matches([m('component', 'api', false, false)], labels)).toBe(true);
    expect(matches([m('component', 'api-.*', true)], labels)).toBe(true);
    expect(matches([m('component', 'api', true)], labels)).toBe(false); // anchored: no partial match
    expect(matches([m('component', 'db|cache', true, false), m('severity', 'page')], labels)).toBe(true);
    expect(matches([m('team', '')], labels)).toBe(true);
    expect(matches([m('team', '.+', true)], labels)).toBe(false);
  });
});

describe.each(backends)('silences on $name', (backend) => {
  it.skipIf(backend.skip)('are validated, silence what they match while active, expire, and survive a restart', async () => {
    const location = await backend.create();
    cleanup.push(() => location.dispose());
    const store = await openStore(location.url, location.schema === undefined ? {} : { schema: location.schema });
    cleanup.push(() => store.close());
    await store.migrate();
    let now = T0;
    const silences = new Silences({ store, now: () => now });
    await silences.load();
    expect(
      await silences.add({ matchers: [m('team', '.*', true), { name: 'bad-name', value: 'x' }], createdBy: '', comment: 'x', extra: 1 }),
    ).toEqual({
      ok: false,
      problems: [
        'matchers[1].name: must be a Prometheus label name',
        'createdBy: must not be empty',
        'extra: unknown key; expected one of matchers, startsAt, endsAt, duration, createdBy, comment',
        'endsAt: give either endsAt or duration',
      ],
    });
    expect(await silences.add({ matchers: [m('team', '.*', true)], duration: '1h', createdBy: 'ada', comment: 'all' })).toEqual({
      ok: false,
      problems: ['matchers: at least one matcher must not match the empty string'],
    });
    expect((await silences.add({ matchers: [m('x', '(', true)], duration: '1h', createdBy: 'ada', comment: 'c' })).ok).toBe(false);
    expect(await silences.add({ matchers: [m('x', 'y')], endsAt: at(-1), createdBy: 'ada', comment: 'c' })).toEqual({
      ok: false,
      problems: ['endsAt: must be after startsAt and in the future'],
    });
    const made = await silences.add({ matchers: [m('component', 'api')], duration: '30m', createdBy: 'ada', comment: 'deploy' });
    const later = await silences.add({
      matchers: [m('severity', 'page')],
      startsAt: at(60),
      endsAt: at(90),
      createdBy: 'bob',
      comment: 'night',
    });
    if (!made.ok || !later.ok) throw new Error('not made');
    expect(silences.silencer({ component: 'api' }, now)).toEqual([`silence:${made.id}`]);
    expect(silences.silencer({ component: 'db', severity: 'page' }, now)).toEqual([]); // the second is pending
    expect(silences.silencer({ component: 'api', severity: 'page' }, T0 + 70 * MIN)).toEqual([`silence:${later.id}`]);

    const again = new Silences({ store, now: () => now });
    await again.load();
    expect(again.list()).toEqual(silences.list());
    now = T0 + 10 * MIN;
    expect(await again.expire(made.id)).toBe(true);
    expect(await again.expire(9999)).toBe(false);
    expect(again.get(made.id)?.endsAt).toBe(now);
    expect(again.silencer({ component: 'api' }, now)).toEqual([]);
    now = T0 + 200 * 3_600_000; // past the 5-day retention: no longer listed
    await again.load();
    expect(again.list()).toEqual([]);
  });
});

describe('silences on a monitor (fake clock)', () => {
  it('keep the matching alert from being announced until expired, and leave the others alone', async () => {
    const r = parseConfig(
      `defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: db, check: { type: tcp, host: 127.0.0.1, port: 2 } }
  - { name: edge, check: { type: tcp, host: 127.0.0.1, port: 3 } }
alerts: { rules: [{ name: open, type: incident, for: 0s }] }`,
      { env: {} },
    );
    if (!r.ok) throw new Error('bad config');
    const store = await openStore('sqlite::memory:');
    await store.migrate();
    let now = T0;
    const silences = new Silences({ store, now: () => now });
    await silences.load();
    const m0 = await fakeClockMonitor(r.config, T0, { silencer: silences.silencer });
    cleanup.push(m0.dispose, () => store.close());
    const made = await silences.add({ matchers: [m('component', 'api')], duration: '1h', createdBy: 'ada', comment: 'known' });
    if (!made.ok) throw new Error('not made');
    m0.down.add('api');
    m0.down.add('db');
    await m0.step(3);
    expect(m0.events.map((e) => `${e.kind} ${e.alert.labels.component}`)).toEqual(['firing db']);
    expect(m0.alerts.active().find((a) => a.labels.component === 'api')?.silencedBy).toEqual([`silence:${made.id}`]);
    now = m0.clock.now();
    await silences.expire(made.id);
    await m0.step(1);
    expect(m0.events.map((e) => `${e.kind} ${e.alert.labels.component}`)).toEqual(['firing db', 'firing api']);
  });
});
