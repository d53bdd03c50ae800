import { X509Certificate } from 'node:crypto';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { prometheusRulesYaml } from '../../src/alerts/prometheus-rules.js';
import { parseConfig } from '../../src/config/index.js';
import { monitorEventMetrics } from '../../src/monitor/metrics.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { certificate, DAY, httpsServer } from '../health/checks/support.js';
import { fakeClockMonitor } from '../support/alerting.js';
import { hasPrometheusTools, promtool, promtoolTestRules } from '../support/prometheus.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 4, 2, 6);

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

// flapping would hold the alerts of a component failing on and off (noise.ts): out of reach here
const yaml = (rules: string) => `
defaults: { interval: 10s, timeout: 1s, degradedAfter: 500ms, failuresToOpen: 1, successesToResolve: 1, flapThreshold: 1000 }
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: db, check: { type: tcp, host: 127.0.0.1, port: 1 } }
alerts:
  evaluationInterval: 10s
  rules:
${rules}
`;

function parsed(text: string) {
  const r = parseConfig(text, { env: {} });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const config = (rules: string) => parsed(yaml(rules));

/** The first evaluation (every 10 s from T0) at or after `t`. */
const firstEvalAfter = (t: number) => T0 + Math.ceil((t - T0) / (10 * SECOND)) * 10 * SECOND;

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
      'alerts.rules[2].type: expected type: availability, incident, failureRate, degraded, certificate, breaker, backup or drill',
    ]);
  });

  it('give failure-rate, degraded, certificate and breaker rules their defaults, and name their problems', () => {
    expect(
      config(`    - { name: f, type: failureRate, above: 5 }
    - { name: d, type: degraded }
    - { name: c, type: certificate }
    - { name: b, type: breaker }`).alerts.rules,
    ).toEqual([
      { name: 'f', type: 'failureRate', severity: 'ticket', labels: {}, window: '15m', above: 5, for: 0 },
      { name: 'd', type: 'degraded', severity: 'ticket', labels: {}, for: 15 * MINUTE },
      { name: 'c', type: 'certificate', severity: 'ticket', labels: {}, days: 14 },
      { name: 'b', type: 'breaker', severity: 'ticket', labels: {}, for: 5 * MINUTE },
    ]);
    const r = parseConfig(
      yaml(`    - { name: f, type: failureRate, window: 2h, above: 100 }
    - { name: g, type: failureRate }
    - { name: c, type: certificate, component: api, days: 0 }
    - { name: b, type: breaker, component: api }
    - { name: d, type: degraded, for: soon }`),
      { env: {} },
    );
    expect(r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'alerts.rules[0].window: expected one of 5m, 15m, 1h',
      'alerts.rules[0].above: must be less than 100',
      'alerts.rules[1].above: required',
      'alerts.rules[2].component: "api" reads no TLS certificate: needs an https:// http check or a tlsCertificate check',
      'alerts.rules[2].days: must be more than 0',
      'alerts.rules[3].component: unknown key; expected one of name, severity, labels, type, breaker, for',
      'alerts.rules[4].for: expected a duration like 30s, 5m, 7d',
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

describe('the failureRate rule evaluated by nines', () => {
  it('cannot tell before a whole window was counted, fires above the share, resolves below it, and keeps its alert over a restart', async () => {
    const h = await fakeClockMonitor(config('    - { name: flaky, type: failureRate, component: api, window: 5m, above: 10 }'), T0);
    cleanup.push(h.dispose);
    const results: ProbeResult[] = [];
    const listen = () => h.monitor.on('result', (r) => r.name === 'api' && results.push(r));
    listen();
    const alerts = () => h.events.map((e) => [e.kind, e.alert.labels.alertname, e.at]);

    h.down.add('api');
    await h.step(36); // six minutes, every check failing
    const first = (results[0] as ProbeResult).time;
    // 100 % failed all along, yet nothing until the window (60 slots of 5 s ending with the one holding now) begins after the first check
    expect(alerts()).toEqual([['firing', 'NinesFailureRateHigh', firstEvalAfter(first + 5 * MINUTE - 5 * SECOND)]]);
    expect(h.events[0]?.alert.labels).toEqual({
      alertname: 'NinesFailureRateHigh',
      rule: 'flaky',
      severity: 'ticket',
      component: 'api',
      window: '5m',
    });

    h.down.delete('api');
    const recoveredAt = h.clock.now();
    await h.step(40);
    // the window is the 60 slots of 5 s ending with the one holding now: 29 or 30 checks, 3 of them failed at most to resolve
    const resolved = h.events[1] as (typeof h.events)[number];
    expect(resolved.kind).toBe('resolved');
    const inWindow = results.filter((r) => r.time >= Math.floor(resolved.at / 5000) * 5000 - 59 * 5000 && r.time <= resolved.at);
    const failed = inWindow.filter((r) => r.status === 'unhealthy').length;
    expect(failed * 10).toBeLessThanOrEqual(inWindow.length);
    expect((resolved.at - recoveredAt) / (10 * SECOND)).toBeGreaterThanOrEqual(26);
    expect((resolved.at - recoveredAt) / (10 * SECOND)).toBeLessThanOrEqual(27);

    // one check in 15 fails (6.7 %; at most 2 in a window): silent for 10 minutes
    for (let i = 0; i < 60; i++) {
      if (i % 15 === 0) h.down.add('api');
      else h.down.delete('api');
      await h.step();
    }
    expect(h.events).toHaveLength(2);

    // one in 3 (33 %): fires once enough failures are in the window
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 0) h.down.add('api');
      else h.down.delete('api');
      await h.step();
    }
    expect(
      alerts()
        .slice(2)
        .map(([kind]) => kind),
    ).toEqual(['firing']);

    // a restart: the counts start again, the rule cannot tell for 5 minutes and the alert stays firing, then still holds
    await h.restart();
    listen();
    for (let i = 0; i < 36; i++) {
      if (i % 3 === 0) h.down.add('api');
      else h.down.delete('api');
      await h.step();
    }
    expect(h.events).toHaveLength(3);
    expect(h.alerts.active().map((a) => [a.labels.alertname, a.state])).toEqual([['NinesFailureRateHigh', 'firing']]);
  }, 60_000);
});

describe('the degraded rule evaluated by nines', () => {
  it('fires once a component has been degraded without a break for `for`, and neither re-pages nor resolves over a restart', async () => {
    const h = await fakeClockMonitor(config('    - { name: slow, type: degraded, component: db, for: 2m }'), T0);
    cleanup.push(h.dispose);
    await h.step(6);
    h.slow.add('db');
    await h.step(6); // a minute degraded
    h.slow.delete('db');
    await h.step(); // one healthy check breaks the run
    expect(h.monitor.status().find((s) => s.name === 'db')?.degradedSince).toBeUndefined();
    h.slow.add('db');
    await h.step();
    const since = h.monitor.status().find((s) => s.name === 'db')?.degradedSince as number;
    expect(since).toBeGreaterThan(h.clock.now() - 10 * SECOND);
    await h.step(14);
    expect(h.events.map((e) => [e.kind, e.alert.labels.alertname, e.alert.labels.component, e.at])).toEqual([
      ['firing', 'NinesComponentDegraded', 'db', firstEvalAfter(since + 2 * MINUTE)],
    ]);

    // restarted while degraded: the run seen since the start may be older, so the rule cannot tell for 2 minutes, then holds
    await h.restart();
    await h.step(18);
    const db = h.monitor.status().find((s) => s.name === 'db');
    expect(db?.degradedFromStart).toBe(true);
    expect(h.events).toHaveLength(1);
    expect(h.alerts.active().map((a) => a.state)).toEqual(['firing']);
    h.slow.delete('db');
    await h.step();
    expect(h.events.map((e) => e.kind)).toEqual(['firing', 'resolved']);
  }, 60_000);
});

describe('the certificate rule on real TLS', () => {
  const now = Date.now(); // TLS checks the certificate's dates against the real time
  let pems: { key: string; cert: string };
  let server: Awaited<ReturnType<typeof httpsServer>>;
  const trusted = getCACertificates('default');

  beforeAll(async () => {
    pems = await certificate(new Date(now - DAY), new Date(now + 10 * DAY));
    server = await httpsServer(pems);
    setDefaultCACertificates([...trusted, pems.cert]); // so the http check over https trusts it as a public certificate
  });
  afterAll(async () => {
    setDefaultCACertificates(trusted);
    await server.close().catch(() => {}); // the test may have closed it
  });

  it('fires for the https and tlsCertificate components whose certificate expires within `days`, and exports its expiry', async () => {
    const cfg = parsed(`
defaults: { interval: 1m, timeout: 5s, degradedAfter: 4s }
components:
  - { name: https, check: { type: http, url: 'https://127.0.0.1:${server.port}/' } }
  - { name: tls, check: { type: tlsCertificate, host: 127.0.0.1, port: ${server.port}, minDaysLeft: 1 } }
  - { name: plain, check: { type: tcp, host: 127.0.0.1, port: ${server.port} } }
alerts:
  rules:
    - { name: soon, type: certificate }
    - { name: later, type: certificate, days: 7, severity: info }
`);
    const h = await fakeClockMonitor(cfg, now, { realProbes: true });
    cleanup.push(h.dispose);
    const registry = new Registry();
    monitorEventMetrics(registry, h.monitor);
    for (const name of ['https', 'tls', 'plain']) expect((await h.monitor.runNow(name))?.status, name).toBe('healthy');
    await h.alerts.evaluate();

    const expiresAt = Date.parse(new X509Certificate(pems.cert).validTo);
    expect(h.monitor.status().map((s) => [s.name, s.certificateExpiresAt])).toEqual([
      ['https', expiresAt],
      ['tls', expiresAt],
      ['plain', undefined],
    ]);
    expect(h.events.map((e) => [e.kind, e.alert.labels])).toEqual([
      ['firing', { alertname: 'NinesCertificateExpiring', rule: 'soon', severity: 'ticket', component: 'https' }],
      ['firing', { alertname: 'NinesCertificateExpiring', rule: 'soon', severity: 'ticket', component: 'tls' }],
    ]);
    expect(h.events[0]?.alert.annotations.summary).toBe('the TLS certificate of https expires within 14 days');
    const text = await registry.metrics();
    expect(text).toContain(`nines_certificate_expiry_timestamp_seconds{component="https"} ${expiresAt / 1000}`);
    expect(text).toContain(`nines_certificate_expiry_timestamp_seconds{component="tls"} ${expiresAt / 1000}`);
    expect(text).not.toContain('nines_certificate_expiry_timestamp_seconds{component="plain"}');

    // the certificate last seen still counts while the target cannot be reached
    await server.close();
    expect((await h.monitor.runNow('https'))?.status).toBe('unhealthy');
    await h.alerts.evaluate();
    expect(h.monitor.status()[0]?.certificateExpiresAt).toBe(expiresAt);
    expect(h.events).toHaveLength(2);
  }, 30_000);
});

describe.skipIf(!hasPrometheusTools())('threshold rules for Prometheus (promtool)', () => {
  it('pass promtool check rules, and fire in promtool test rules as nines does', () => {
    const cfg = config(`    - { name: open, type: incident, severity: page }
    - { name: low, type: availability, component: api, window: 1h, below: 99, for: 2m }`);
    const rules = prometheusRulesYaml(cfg);
    const check = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': rules });
    expect(check.output).toMatch(/SUCCESS: 3 rules found/); // open for api and db, low for api
    const r = promtoolTestRules(rules, [
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
    ]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
