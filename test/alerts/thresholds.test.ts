import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { prometheusRulesYaml } from '../../src/alerts/prometheus-rules.js';
import { parseConfig } from '../../src/config/index.js';
import { fakeClockMonitor } from '../support/alerting.js';
import { hasPrometheusTools, promtool } from '../support/prometheus.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 4, 2, 6);

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const yaml = (rules: string) => `
defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: db, check: { type: tcp, host: 127.0.0.1, port: 1 } }
alerts:
  evaluationInterval: 10s
  rules:
${rules}
`;

function config(rules: string) {
  const r = parseConfig(yaml(rules), { env: {} });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('threshold rules in the config', () => {
  it('default to a ticket and, for incidents, 5 minutes; name every problem at its path', () => {
    expect(config('    - { name: open, type: incident }').alerts.rules).toEqual([
      { name: 'open', type: 'incident', severity: 'ticket', labels: {}, for: 5 * MINUTE },
    ]);
    const r = parseConfig(
      yaml(`    - { name: a, type: availability, component: nope, window: 2h, below: 99 }
    - { name: a, type: incident }
    - { name: c, type: latency }`),
      { env: {} },
    );
    expect((r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)).sort()).toEqual([
      'alerts.rules[0].component: no component named "nope"',
      'alerts.rules[0].window: expected one of 1h, 24h, 7d, 30d',
      'alerts.rules[1].name: duplicate rule name "a" (also alerts.rules[0])',
      'alerts.rules[2].type: expected type: availability or incident',
    ]);
  });
});

describe('threshold rules evaluated by nines', () => {
  it('fire an incident alert once the incident is 5 min old, and an availability alert while below, per component', async () => {
    const cfg = config(`    - { name: open, type: incident, severity: page }
    - { name: low, type: availability, component: api, window: 1h, below: 99 }`);
    const { monitor, down, events, step, dispose } = await fakeClockMonitor(cfg, T0);
    cleanup.push(dispose);
    let openedAt: number | undefined;
    monitor.on('incidentOpened', (e) => {
      if (e.component === 'api') openedAt = e.start;
    });
    await step(360); // an hour up
    expect(events).toEqual([]);
    down.add('api');
    await step(60); // ten minutes down
    const fired = events.filter((e) => e.kind === 'firing').map((e) => [e.alert.labels.alertname, e.alert.labels.component, e.at]);
    const open = openedAt as number;
    const firstEvalAfter = (t: number) => T0 + Math.ceil((t - T0) / (10 * SECOND)) * 10 * SECOND;
    // availability over 1 h falls below 99 % once more than 36 s of the hour are down
    expect(fired).toEqual([
      ['NinesAvailabilityLow', 'api', firstEvalAfter(open + 36 * SECOND + 1)],
      ['NinesIncidentOpen', 'api', firstEvalAfter(open + 5 * MINUTE)],
    ]);
    expect(events.find((e) => e.alert.labels.alertname === 'NinesIncidentOpen')?.alert.labels).toEqual({
      alertname: 'NinesIncidentOpen',
      rule: 'open',
      severity: 'page',
      component: 'api',
    });
    down.delete('api');
    await step();
    await step();
    expect(events.filter((e) => e.kind === 'resolved').map((e) => e.alert.labels.alertname)).toEqual(['NinesIncidentOpen']);
  }, 60_000);
});

describe.skipIf(!hasPrometheusTools())('threshold rules for Prometheus (promtool)', () => {
  it('pass promtool check rules, and fire in promtool test rules as nines does', () => {
    const cfg = config(`    - { name: open, type: incident, severity: page }
    - { name: low, type: availability, component: api, window: 1h, below: 99, for: 2m }`);
    const rules = prometheusRulesYaml(cfg);
    const check = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': rules });
    expect(check.output).toMatch(/SUCCESS: 3 rules found/); // open for api and db, low for api
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'nines_incidents_active{component="api",instance="a",job="nines"}', values: '0 0 1x10' },
            { series: 'nines_incidents_active{component="db",instance="a",job="nines"}', values: '0x12' },
            { series: 'nines_availability_ratio{component="api",window="1h",instance="a",job="nines"}', values: '1 1 0.995 0.98x10' },
          ],
          alert_rule_test: [
            { eval_time: '6m', alertname: 'NinesIncidentOpen', exp_alerts: [] },
            {
              eval_time: '7m',
              alertname: 'NinesIncidentOpen',
              exp_alerts: [
                {
                  exp_labels: { rule: 'open', severity: 'page', component: 'api' },
                  exp_annotations: { summary: 'api has had an open incident for more than 5m', description: 'rule open' },
                },
              ],
            },
            { eval_time: '4m', alertname: 'NinesAvailabilityLow', exp_alerts: [] },
            {
              eval_time: '5m',
              alertname: 'NinesAvailabilityLow',
              exp_alerts: [
                {
                  exp_labels: { rule: 'low', severity: 'ticket', component: 'api', window: '1h' },
                  exp_annotations: { summary: 'api availability over 1h is below 99 %', description: 'rule low' },
                },
              ],
            },
          ],
        },
      ],
    };
    const r = promtool(['test', 'rules', 'tests.yaml'], { 'rules.yaml': rules, 'tests.yaml': stringify(tests) });
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
