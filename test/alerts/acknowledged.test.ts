/** Acknowledging an incident stops its alerts' reminders: a real monitor and evaluator on a fake clock. */
import { afterEach, describe, expect, it } from 'vitest';
import { markAcknowledged } from '../../src/alerts/acknowledged.js';
import type { AlertCandidate } from '../../src/alerts/lifecycle.js';
import { parseConfig } from '../../src/config/index.js';
import type { ComponentStatus } from '../../src/monitor/monitor.js';
import { fakeClockMonitor } from '../support/alerting.js';

const T0 = Date.UTC(2026, 4, 4, 6);
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const yaml = `
defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: db, check: { type: tcp, host: 127.0.0.1, port: 1 } }
alerts:
  repeatInterval: 5m
  rules: [{ name: open, type: incident, for: 0s, severity: page }]
`;

describe('acknowledged incidents', () => {
  it('send no reminders while open, still resolve, and a new incident of the component reminds again', async () => {
    const parsed = parseConfig(yaml, { env: {} });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const { monitor, down, events, step, dispose } = await fakeClockMonitor(parsed.config, T0);
    cleanup.push(dispose);
    /** Each event since `from` as `kind component`. */
    const since = (from: number) => events.slice(from).map((e) => `${e.kind} ${e.alert.labels.component}`);
    await step(3);
    down.add('api');
    down.add('db');
    await step(1);
    expect(since(0)).toEqual(['firing api', 'firing db']);
    await step(30); // 5 minutes
    expect(since(2)).toEqual(['repeat api', 'repeat db']);

    const [incident] = (await monitor.history.incidents({ component: 'api', limit: 1 })).items;
    expect(await monitor.notebook.acknowledge(incident?.id ?? 0, 'Ada')).toMatchObject({ component: 'api', end: null });
    expect(monitor.status().map((s) => [s.name, s.acknowledged])).toEqual([
      ['api', true],
      ['db', false],
    ]);
    await step(6 * 30); // 30 minutes: db reminds six times, api not once
    expect(since(4)).toEqual(Array(6).fill('repeat db'));

    down.delete('api');
    await step(1);
    expect(since(10)).toEqual(['resolved api']);
    expect(monitor.status().find((s) => s.name === 'api')?.acknowledged).toBe(false);
    down.add('api'); // a new incident: nobody has acknowledged it
    await step(31);
    expect(since(11).filter((e) => e.endsWith('api'))).toEqual(['firing api', 'repeat api']);
  }, 60_000);
});

describe('markAcknowledged', () => {
  const status = (name: string, acknowledged: boolean): ComponentStatus => ({
    name,
    critical: false,
    status: 'unhealthy',
    last: undefined,
    incidentSince: 1,
    degradedSince: undefined,
    degradedFromStart: false,
    certificateExpiresAt: undefined,
    maintenance: [],
    acknowledged,
    flapping: false,
  });
  const candidate = (labels: Record<string, string>): AlertCandidate => ({ labels, annotations: {}, holds: true, forMs: 0 });

  it('marks the alerts labelled with an acknowledged component, and only those', () => {
    const out = markAcknowledged(
      [candidate({ alertname: 'A', component: 'api' }), candidate({ alertname: 'A', component: 'db' }), candidate({ alertname: 'B' })],
      [status('api', true), status('db', false)],
    );
    expect(out.map((c) => c.acknowledged ?? false)).toEqual([true, false, false]);
  });
});
