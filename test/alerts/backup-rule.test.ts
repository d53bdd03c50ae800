/** The `backup` alert rule: a target's newest backup older than `olderThan`, or none; in nines, and for Prometheus (promtool). */
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
    db: { type: postgres, url: 'postgres://nines@127.0.0.1:5432/app' }
    uploads: { type: files, path: ./uploads }
alerts:
  rules:
    - { name: stale-backup, type: backup, olderThan: 2m, severity: page }
`;

const parsed = parseConfig(CONFIG, { env: {} });
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const config = parsed.config;
const history = { runningFigures: () => undefined, runningChecks: () => undefined };
const MIN = 60_000;

describe('the backup rule', () => {
  it('holds per target while its newest backup is older than olderThan, or there is none; cannot tell without the backups', () => {
    const now = Date.UTC(2026, 11, 7, 12);
    const last: Record<string, number> = { db: now - 3 * MIN };
    const verdicts = (at: number) =>
      thresholdCandidates(config, [], history, at, { lastSuccess: (t) => last[t] }).map((c) => [c.labels.target, c.holds]);
    expect(verdicts(now)).toEqual([
      ['db', true],
      ['uploads', true], // never backed up
    ]);
    last.db = now - 2 * MIN;
    last.uploads = now - 30_000;
    expect(verdicts(now)).toEqual([
      ['db', false],
      ['uploads', false],
    ]);
    const [candidate] = thresholdCandidates(config, [], history, now);
    expect(candidate).toMatchObject({
      holds: undefined,
      labels: { alertname: 'NinesBackupTooOld', rule: 'stale-backup', severity: 'page', target: 'db' },
      annotations: { summary: 'the newest backup of db is older than 2m, or there is none' },
    });
  });

  it('names a target that is not in backup.targets at its path', () => {
    const bad = parseConfig(CONFIG.replace('type: backup,', 'type: backup, target: dbb,'), { env: {} });
    expect(bad.ok || formatProblems(bad.problems)).toEqual(['alerts.rules[0].target: no backup target named "dbb" in backup.targets']);
  });
});

describe.skipIf(!hasPrometheusTools())('the backup rule for Prometheus (promtool)', () => {
  const rules = prometheusRulesYaml(config);

  it('passes promtool check rules, one rule per target', () => {
    const check = promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': rules });
    expect(check.output).toMatch(/SUCCESS: 2 rules found/);
    expect(check.status).toBe(0);
  });

  it('fires before the first backup (the gauge is 0), resolves on one, and fires again once it is too old', () => {
    const firing = (eval_time: string, fires: boolean) => ({
      eval_time,
      alertname: 'NinesBackupTooOld',
      exp_alerts: fires
        ? [
            {
              exp_labels: { rule: 'stale-backup', severity: 'page', target: 'db' },
              exp_annotations: { summary: 'the newest backup of db is older than 2m, or there is none', description: 'rule stale-backup' },
            },
          ]
        : [],
    });
    // promtool's clock starts at 0 s; a backup of db ends at 180 s, seen from the 4th minute on
    const r = promtoolTestRules(rules, [
      {
        interval: '1m',
        input_series: [
          { series: 'nines_backup_last_success_timestamp_seconds{target="db",instance="a",job="nines"}', values: '0 0 0 0 180x10' },
          { series: 'nines_backup_last_success_timestamp_seconds{target="uploads",instance="a",job="nines"}', values: '0 60+60x13' }, // a backup every minute
        ],
        alert_rule_test: [firing('2m', false), firing('3m', true), firing('4m', false), firing('5m', false), firing('6m', true)],
      },
    ]);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });
});
