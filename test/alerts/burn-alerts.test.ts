/**
 * Burn-rate alerts: the factors of the SRE workbook for any SLO window, the config's problems, and the
 * exported Prometheus rules checked and run by promtool on burn rates nines itself computed, so
 * Prometheus and nines' own evaluator fire and resolve at the same minute.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readBurnAlert } from '../../src/alerts/burn.js';
import { BURN_ALERT_NAME, prometheusRules, prometheusRulesYaml } from '../../src/alerts/prometheus-rules.js';
import { BURN_WINDOWS, type BurnSeverity } from '../../src/config/burn-alerts.js';
import { type NinesConfig, parseConfig, type SloConfig } from '../../src/config/index.js';
import { type IncidentSpan, windowFigures } from '../../src/monitor/figures.js';
import { sloFiguresOf, sloWindows } from '../../src/monitor/store-figures.js';
import { hasPrometheusTools, promtool, promtoolTestRules } from '../support/prometheus.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

function config(slos: string): NinesConfig {
  const r = parseConfig(`components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]\nslos:\n${slos}`);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

function problems(slos: string): string[] {
  const r = parseConfig(`components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]\nslos:\n${slos}`);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
}

const factors = (slo: SloConfig, severity: BurnSeverity) =>
  slo.alerts.find((a) => a.severity === severity)?.conditions.map((c) => [c.long, c.short, c.factor]);

describe('burn-rate alerts in the config', () => {
  it('are built in for every SLO with the workbook factors: 14.4 and 6 page, 3 and 1 ticket over 30 days', () => {
    const [slo] = config('  - { name: api, component: api, objective: 99.9 }').slos as [SloConfig];
    expect(factors(slo, 'page')).toEqual([
      ['1h', '5m', 14.4],
      ['6h', '30m', 6],
    ]);
    expect(factors(slo, 'ticket')).toEqual([
      ['1d', '2h', 3],
      ['3d', '6h', 1],
    ]);
    expect(slo.alerts.every((a) => a.forMs === 0)).toBe(true);
  });

  it('scale with the SLO window: a 28-day SLO pages at 13.44, a 1-day SLO has no 3-day pair', () => {
    const [d28, d1] = config(
      '  - { name: a, component: api, objective: 99.9, window: 28d }\n  - { name: b, component: api, objective: 99, window: 1d }',
    ).slos as [SloConfig, SloConfig];
    expect(factors(d28, 'page')?.[0]).toEqual(['1h', '5m', 13.44]);
    expect(factors(d1, 'ticket')).toEqual([['1d', '2h', 0.1]]);
  });

  it('take overrides per SLO: own pairs, a severity turned off, for, labels', () => {
    const [slo] = config(
      '  - { name: api, component: api, objective: 99.5, window: 7d, alerting: { page: [{ long: 1h, short: 5m, budget: 1% }], ticket: false, for: 2m, labels: { team: core } } }',
    ).slos as [SloConfig];
    expect(slo.alerts).toEqual([
      { severity: 'page', conditions: [{ long: '1h', short: '5m', budget: 1, factor: 1.68 }], forMs: 2 * MINUTE, labels: { team: 'core' } },
    ]);
  });

  it('name every problem of an override at its path', () => {
    expect(
      problems(
        '  - { name: a, component: api, objective: 99.9, window: 2d, alerting: { page: [{ long: 5m, short: 1h, budget: 2% }, { long: 3d, short: 6h, budget: 10 }], labels: { severity: x, 1a: y } } }',
      ),
    ).toEqual([
      'slos[0].alerting.labels.severity: slo, component, severity, alertname are set by nines',
      'slos[0].alerting.labels["1a"]: must be a Prometheus label name: letters, digits and _, not starting with a digit',
    ]);
    expect(
      problems(
        '  - { name: a, component: api, objective: 99.9, window: 2d, alerting: { page: [{ long: 5m, short: 1h, budget: 2% }, { long: 3d, short: 6h, budget: 10 }] } }',
      ),
    ).toEqual([
      'slos[0].alerting.page[0].short: must be shorter than long (5m)',
      'slos[0].alerting.page[1].long: must not exceed the SLO window (2d)',
    ]);
    expect(problems('  - { name: a, component: api, objective: 90, alerting: { page: [{ long: 1h, short: 5m, budget: 2 }] } }')).toEqual([
      'slos[0].alerting.page[0].budget: needs a burn rate of 14.4, which an objective of 90 % never reaches (at most 10, everything down)',
    ]);
    expect(
      problems('  - { name: a, component: api, objective: 99, alerting: { page: [{ long: 2d, short: 5m, budget: 0 }], ticket: [] } }'),
    ).toEqual([
      'slos[0].alerting.page[0].long: expected one of 5m, 30m, 1h, 2h, 6h, 1d, 3d',
      'slos[0].alerting.page[0].budget: must be more than 0 % and at most 100 % of the budget',
      'slos[0].alerting.ticket: needs at least one pair, or false to turn it off',
    ]);
  });
});

const EXAMPLE = new URL('../../examples/nines.yaml', import.meta.url);

describe.skipIf(!hasPrometheusTools())('the exported Prometheus rules (promtool)', () => {
  const several = config(
    [
      '  - { name: api, component: api, objective: 99.9 }',
      '  - { name: api-28d, component: api, objective: 99.95, window: 28d, alerting: { for: 1m, labels: { team: core } } }',
      '  - { name: short, component: api, objective: 99, window: 1d, alerting: { page: false } }',
    ].join('\n'),
  );

  it('pass promtool check rules, for the bundled example and for several SLOs', () => {
    const example = parseConfig(readFileSync(EXAMPLE, 'utf8'), { env: {} });
    if (!example.ok) throw new Error(JSON.stringify(example.problems));
    for (const c of [example.config, several]) {
      const r = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': prometheusRulesYaml(c) });
      expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
      expect(r.status).toBe(0);
    }
    const rules = prometheusRulesYaml(several);
    expect(rules.match(/- record: nines_slo:burn_rate:max/g)).toHaveLength(3 * Object.keys(BURN_WINDOWS).length);
    expect(rules.match(new RegExp(`- alert: ${BURN_ALERT_NAME}`, 'g'))).toHaveLength(2 + 2 + 1); // api page+ticket, 28d page+ticket, short ticket
  });

  it('promtool check rules is a real check: it rejects a broken expression', () => {
    const broken = prometheusRulesYaml(several).replace('> 14.4 and', '> and');
    const r = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': broken });
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/parse error|FAILED/);
  });

  it('page as nines does: at the same minute for a 15× burn, silent for a 1× burn, resolved soon after the burn stops', () => {
    const [slo] = config('  - { name: api, component: api, objective: 99.9 }').slos as [SloConfig];
    // 15×: 0.9 s down at the start of every minute (1.5 % of the time, 15 × the 0.1 % allowed) for 70 min
    const fast = simulate(slo, 900, 70, 90);
    // nines' own evaluator: the 1 h window passes 14.4 once 57.6 min of the burn are in it, the 5 m window at once;
    // the burn stops at 70 min and the 5 m window falls to 12 × one minute later
    expect(fast.pageFirst).toBe(58);
    expect(fast.pageLast).toBe(70);
    // 1×: 60 ms down every minute, for 7 h (past the longest page window)
    const slow = simulate(slo, 60, 7 * 60, 7 * 60);
    expect(slow.pageFirst).toBeUndefined();

    const alert = (severity: string) => ({ exp_labels: { severity, slo: 'api', component: 'api' }, exp_annotations: annotations(slo) });
    const none = (m: number) => ({ eval_time: `${m}m`, alertname: BURN_ALERT_NAME, exp_alerts: [] });
    const page = (m: number) => ({ eval_time: `${m}m`, alertname: BURN_ALERT_NAME, exp_alerts: [alert('page')] });
    const r = promtoolTestRules(prometheusRulesYaml({ slos: [slo] }), [
      {
        interval: '1m',
        input_series: fast.series,
        alert_rule_test: [none(0), none(57), page(58), page(65), page(70), none(71), none(90)],
      },
      { interval: '1m', input_series: slow.series, alert_rule_test: [60, 120, 240, 360, 420].map(none) },
    ]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});

/** The annotations of `slo`'s page alert, as the rule file has them. */
function annotations(slo: SloConfig): Record<string, string> {
  for (const rule of prometheusRules({ slos: [slo] }).groups.flatMap((g) => g.rules))
    if ('alert' in rule && rule.labels.severity === 'page') return rule.annotations;
  throw new Error('no page rule');
}

/**
 * A component with three days of clean history, then `downMs` down at the start of every minute for
 * `burnMinutes`; at each minute 0..`minutes` the burn rates nines computes (the same figures code
 * as /metrics) become Prometheus input series, and nines' evaluator says whether the page alert fires.
 */
function simulate(slo: SloConfig, downMs: number, burnMinutes: number, minutes: number) {
  const T0 = Date.UTC(2026, 0, 10);
  const incidents: IncidentSpan[] = Array.from({ length: burnMinutes }, (_, k) => ({
    start: T0 + k * MINUTE,
    end: T0 + k * MINUTE + downMs,
  }));
  const timeline = { firstCheckAt: T0 - 3 * DAY, gaps: [], incidents };
  const pageAlert = slo.alerts.find((a) => a.severity === 'page');
  if (pageAlert === undefined) throw new Error('no page alert');
  const values = new Map<string, number[]>(Object.keys(BURN_WINDOWS).map((w) => [w, []]));
  const firing: number[] = [];
  for (let m = 0; m <= minutes; m++) {
    const now = T0 + m * MINUTE;
    const figures = sloFiguresOf(
      slo,
      sloWindows(slo, now).map((w) => windowFigures(timeline, w, now)),
    );
    if (figures === undefined) throw new Error('no figures');
    for (const [w, list] of values) list.push(figures.burnRates[w as keyof typeof BURN_WINDOWS] ?? Number.NaN);
    if (readBurnAlert(pageAlert, figures).some((r) => r.holds)) firing.push(m);
  }
  const series = [...values].map(([w, list]) => ({
    series: `nines_slo_burn_rate{slo="${slo.name}",window="${w}",instance="127.0.0.1:4000",job="nines"}`,
    values: list.map((v) => String(v)).join(' '),
  }));
  return { series, pageFirst: firing[0], pageLast: firing.at(-1) };
}
