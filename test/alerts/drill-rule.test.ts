/** The `drill` alert rule: no successful restore drill of a target within `olderThan`, or the last one failed; in nines, and for Prometheus (promtool). */
import { describe, expect, it } from 'vitest';
import { prometheusRulesYaml } from '../../src/alerts/prometheus-rules.js';
import { thresholdCandidates } from '../../src/alerts/thresholds.js';
import { formatProblems, parseConfig } from '../../src/config/index.js';
import { hasPrometheusTools, promtool, promtoolTestRules } from '../support/prometheus.js';

const CONFIG = `
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
backup:
  targets:
    db: { type: postgres, url: 'postgres://nines@127.0.0.1:5432/app', drill: '0 4 * * 0' }
    store: { type: sqlite, path: ./nines.db }
alerts:
  rules:
    - { name: stale-drill, type: drill, target: db, olderThan: 2m, severity: ticket }
    - { name: any-drill, type: drill, severity: ticket }
`;

const parsed = parseConfig(CONFIG, { env: {} });
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const config = parsed.config;
const history = { runningFigures: () => undefined, runningChecks: () => undefined };
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe('the drill rule', () => {
  it('holds while no drill succeeded within olderThan (8 d by default), or the last one failed; cannot tell without the drills', () => {
    const now = Date.UTC(2026, 11, 7, 12);
    const drills: Record<string, { lastSuccess: number | undefined; lastFailed: boolean }> = {
      db: { lastSuccess: now - 3 * MIN, lastFailed: false },
      store: { lastSuccess: now - 7 * DAY, lastFailed: false },
    };
    const backups = { lastSuccess: () => now, drill: (t: string) => drills[t] ?? { lastSuccess: undefined, lastFailed: false } };
    const verdicts = () => thresholdCandidates(config, [], history, now, backups).map((c) => [c.labels.rule, c.labels.target, c.holds]);
    expect(verdicts()).toEqual([
      ['stale-drill', 'db', true],
      ['any-drill', 'db', false],
      ['any-drill', 'store', false],
    ]);
    drills.db = { lastSuccess: now - MIN, lastFailed: true }; // a recent success, then a failure
    drills.store = { lastSuccess: undefined, lastFailed: false }; // never drilled
    expect(verdicts()).toEqual([
      ['stale-drill', 'db', true],
      ['any-drill', 'db', true],
      ['any-drill', 'store', true],
    ]);
    drills.db = { lastSuccess: now - MIN, lastFailed: false };
    expect(verdicts()[0]).toEqual(['stale-drill', 'db', false]);
    const [candidate] = thresholdCandidates(config, [], history, now, { lastSuccess: () => now });
    expect(candidate).toMatchObject({
      holds: undefined,
      labels: { alertname: 'NinesDrillTooOld', rule: 'stale-drill', severity: 'ticket', target: 'db' },
      annotations: { summary: 'no successful restore drill of db within 2m, or the last one failed' },
    });
  });

  it('names a target that is not in backup.targets, and a bad drill cron, at their paths', () => {
    const bad = parseConfig(
      CONFIG.replace('type: drill, target: db,', 'type: drill, target: dbb,').replace("'0 4 * * 0'", "'every sunday'"),
      {
        env: {},
      },
    );
    expect(bad.ok || formatProblems(bad.problems).map((p) => p.split(':')[0])).toEqual([
      'backup.targets.db.drill',
      'alerts.rules[0].target',
    ]);
  });
});

describe.skipIf(!hasPrometheusTools())('the drill rule for Prometheus (promtool)', () => {
  const rules = prometheusRulesYaml(config);
  const oneRule = parseConfig(CONFIG.replace(/^ {4}- \{ name: any-drill.*\n/m, ''), { env: {} });

  it('passes promtool check rules, one rule per target', () => {
    const check = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': rules });
    expect(check.output).toMatch(/SUCCESS: 3 rules found/);
    expect(check.status).toBe(0);
  });

  it('fires before the first drill, resolves on a success, fires when a drill fails and when the success grows old', () => {
    const firing = (eval_time: string, fires: boolean) => ({
      eval_time,
      alertname: 'NinesDrillTooOld',
      exp_alerts: fires
        ? [
            {
              exp_labels: { rule: 'stale-drill', severity: 'ticket', target: 'db' },
              exp_annotations: {
                summary: 'no successful restore drill of db within 2m, or the last one failed',
                description: 'rule stale-drill',
              },
            },
          ]
        : [],
    });
    // promtool's clock starts at 0 s: none till a success at 240 s, a failure at 300 s, a success at 360 s, then none
    if (!oneRule.ok) throw new Error(JSON.stringify(oneRule.problems));
    const r = promtoolTestRules(prometheusRulesYaml(oneRule.config), [
      {
        interval: '1m',
        input_series: [
          {
            series: 'nines_backup_drill_last_success_timestamp_seconds{target="db",instance="a",job="nines"}',
            values: '0 0 0 0 240 240 360x10',
          },
          { series: 'nines_backup_drill_last_timestamp_seconds{target="db",instance="a",job="nines"}', values: '0 0 0 0 240 300 360x10' },
        ],
        alert_rule_test: [
          firing('2m', false),
          firing('3m', true), // never drilled
          firing('4m', false),
          firing('5m', true), // the last drill failed
          firing('6m', false),
          firing('8m', false),
          firing('9m', true), // the last success is too old
        ],
      },
    ]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });
});
