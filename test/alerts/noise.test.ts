import { afterEach, describe, expect, it } from 'vitest';
import type { AlertCandidate } from '../../src/alerts/lifecycle.js';
import { FLAPPING_ALERT_NAME, holdNoise } from '../../src/alerts/noise.js';
import { parseConfig } from '../../src/config/index.js';
import type { ComponentStatus } from '../../src/monitor/monitor.js';
import { fakeClockMonitor } from '../support/alerting.js';

const _SECOND = 1000;
const T0 = Date.UTC(2026, 4, 3, 6);
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const yaml = (deps: string) => `
defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: db, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: api, ${deps} check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: web, dependsOn: [api], check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: edge, check: { type: tcp, host: 127.0.0.1, port: 1 } } # stays up: the monitor's network is fine
alerts: { rules: [{ name: open, type: incident, for: 0s, severity: page }] }
`;

describe('dependsOn in the config', () => {
  it('names unknown components, self-dependencies and cycles at their paths', () => {
    const r = parseConfig(
      `components:
  - { name: a, dependsOn: [b], check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: b, dependsOn: [c, b], check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: c, dependsOn: [a, nope], check: { type: tcp, host: 127.0.0.1, port: 1 } }`,
      { env: {} },
    );
    expect((r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)).sort()).toEqual([
      'components[0].dependsOn: dependencies form a cycle: a -> b -> c -> a',
      'components[1].dependsOn[1]: a component cannot depend on itself',
      'components[2].dependsOn[1]: no component named "nope"',
    ]);
  });
});

describe('alerts of dependent components', () => {
  it('page for the parent only while it is down, and for the child once it fails on its own', async () => {
    const parsed = parseConfig(yaml('dependsOn: [db],'), { env: {} });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const { monitor, down, alerts, events, step, dispose } = await fakeClockMonitor(parsed.config, T0);
    cleanup.push(dispose);
    const firing = () =>
      alerts
        .active()
        .filter((a) => a.state === 'firing')
        .map((a) => a.labels.component)
        .sort();
    await step(6);
    for (const c of ['db', 'api', 'web']) down.add(c); // the database takes everything down with it
    await step(6);
    expect(firing()).toEqual(['db']); // api and web are held: their parent is down
    expect(
      monitor
        .status()
        .filter((s) => s.incidentSince !== undefined)
        .map((s) => s.name)
        .sort(),
    ).toEqual(['api', 'db', 'web']); // monitoring is not held
    down.delete('db'); // the database is back, api and web still fail: on their own now
    await step(3);
    expect(firing()).toEqual(['api']); // web's parent api is down: still held
    down.delete('api');
    down.delete('web');
    await step(3);
    expect(firing()).toEqual([]);
    expect(events.filter((e) => e.kind === 'firing').map((e) => e.alert.labels.component)).toEqual(['db', 'api']);
  }, 60_000);
});

describe('holdNoise', () => {
  const status = (name: string, over: Partial<ComponentStatus> = {}): ComponentStatus => ({
    name,
    critical: false,
    status: 'healthy',
    last: undefined,
    maintenance: [],
    incidentSince: undefined,
    degradedSince: undefined,
    degradedFromStart: false,
    certificateExpiresAt: undefined,
    acknowledged: false,
    flapping: false,
    ...over,
  });
  const candidate = (component: string, holds: boolean): AlertCandidate => ({
    labels: { alertname: 'X', component },
    annotations: {},
    holds,
    forMs: 0,
  });

  it('holds the creation of an alert, never its resolution', () => {
    const statuses = [status('db', { status: 'unhealthy', incidentSince: 1 }), status('api')];
    const components = [
      { name: 'db', dependsOn: [] },
      { name: 'api', dependsOn: ['db'] },
    ];
    const [creating, resolving] = holdNoise([candidate('api', true), candidate('api', false)], statuses, components);
    expect(creating?.holds).toBeUndefined(); // an alert already firing stays, none is created
    expect(resolving?.holds).toBe(false);
  });

  it("waits for a parent not checked since the child's incident began: they may have failed together", () => {
    const components = [
      { name: 'db', dependsOn: [] },
      { name: 'api', dependsOn: ['db'] },
    ];
    const result = (dbChecked: number) =>
      holdNoise(
        [candidate('api', true)],
        [
          status('db', { last: { name: 'db', time: dbChecked, durationMs: 1, status: 'healthy' } }),
          status('api', { status: 'unhealthy', incidentSince: 1000 }),
        ],
        components,
      )[0]?.holds;
    expect(result(999)).toBeUndefined(); // db's healthy verdict predates api's failure: not yet known
    expect(result(1000)).toBe(true); // checked since, and healthy: api fails on its own
  });

  it('sends one flapping notice for a flapping component and holds its other alerts', () => {
    const rate = { ...candidate('api', true), labels: { alertname: 'NinesFailureRateHigh', component: 'api' } };
    const out = holdNoise(
      [candidate('api', true), rate],
      [status('api', { flapping: true }), status('db')],
      [
        { name: 'api', dependsOn: [] },
        { name: 'db', dependsOn: [] },
      ],
    );
    expect(out[0]?.holds).toBeUndefined();
    expect(out[1]?.holds).toBe(true); // its failure rate is the steady signal of flapping: not held
    expect(out.filter((c) => c.labels.alertname === FLAPPING_ALERT_NAME).map((c) => [c.labels.component, c.holds])).toEqual([
      ['api', true],
      ['db', false],
    ]);
  });
});
