/**
 * The exported rules in a real Prometheus: it scrapes a real `nines serve`, loads what
 * `nines export prometheus-rules` wrote for the same config, records every burn window, and pages
 * when a loopback target goes down; the burn rate it holds equals what nines' API gives for the
 * instant of that scrape, and nines' own reading of the alert says burning too.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_QUERIES } from '../../src/alerts/grafana.js';
import { alertingConfig, switchableTarget } from '../support/alerting.js';
import { bin, ensureBuilt, startServing, until } from '../support/e2e.js';
import { hasPrometheusTools, promAlerts, promQuery, startPrometheus } from '../support/prometheus.js';

const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

describe.skipIf(!hasPrometheusTools())('burn-rate alerts in a real Prometheus scraping nines serve', () => {
  let target: Awaited<ReturnType<typeof switchableTarget>>;
  let dir: string;
  let base: string;
  let config: string;
  let child: ChildProcess | undefined;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;

  beforeAll(async () => {
    ensureBuilt();
    target = await switchableTarget();
    dir = mkdtempSync(join(tmpdir(), 'nines-alerts-prom-'));
    const written = await alertingConfig(dir, target.port, {
      slo: 'alerting: { labels: { team: web } }',
      extra: 'alerts: { rules: [{ name: web-down, type: incident, component: web, for: 0s, severity: page }] }',
    });
    config = written.path;
    base = written.base;
    const rules = execFileSync(process.execPath, [bin, 'export', 'prometheus-rules', '--config', config], { encoding: 'utf8' });
    child = (await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 })).proc;
    prometheus = await startPrometheus(new URL(base).host, { rules });
  }, 120_000);

  afterAll(async () => {
    prometheus?.stop();
    child?.kill('SIGKILL');
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records every burn window, pages when the target goes down, on the figures nines serves', async () => {
    const p = prometheus as NonNullable<typeof prometheus>;
    const recorded = await until(
      'the recording rules to record every window',
      async () => {
        const r = await promQuery(p.base, 'nines_slo:burn_rate:max{slo="web-slo"}');
        return r.length === WINDOWS.length ? r : undefined;
      },
      60_000,
    );
    expect(recorded.map((s) => s.metric.window).sort()).toEqual([...WINDOWS].sort());
    expect(recorded.every((s) => Number(s.value[1]) === 0)).toBe(true); // up all along: nothing burns
    expect(await promAlerts(p.base)).toEqual([]);

    const downAt = Date.now();
    target.state.up = false;
    const page = await until(
      'Prometheus to fire the page alert',
      async () =>
        (await promAlerts(p.base)).find(
          (a) => a.labels.alertname === 'NinesErrorBudgetBurn' && a.labels.severity === 'page' && a.state === 'firing',
        ),
      60_000,
    );
    console.log(`[alerts-prometheus] page firing in Prometheus ${((Date.now() - downAt) / 1000).toFixed(1)} s after the target went down`);
    expect(page.labels).toEqual({ alertname: 'NinesErrorBudgetBurn', severity: 'page', slo: 'web-slo', component: 'web', team: 'web' });

    // one scrape, two surfaces: the burn rates Prometheus holds for a scrape equal what the API gives for that scrape's instant
    const { evaluated, burn } = await until('two queries that read the same scrape', async () => {
      const now = Date.now() / 1000;
      const [evaluated] = await promQuery(p.base, 'nines_figures_evaluated_timestamp_seconds', now);
      const burn = await promQuery(p.base, 'nines_slo_burn_rate{slo="web-slo"}', now);
      return evaluated !== undefined && burn.every((b) => b.value[0] === evaluated.value[0]) ? { evaluated, burn } : undefined;
    });
    const at = Math.round(Number(evaluated.value[1]) * 1000);
    const api = (await (await fetch(`${base}/api/slos?at=${at}`)).json()) as {
      slos: Array<{ burnRate: Record<string, number>; alerts: Array<{ severity: string; burning: boolean }> }>;
    };
    const [slo] = api.slos;
    expect(burn).toHaveLength(WINDOWS.length);
    for (const sample of burn) {
      const w = sample.metric.window as string;
      expect(Number(sample.value[1]), w).toBe(slo?.burnRate[w]);
    }
    expect(slo?.alerts.find((a) => a.severity === 'page')?.burning).toBe(true);
    expect(slo?.burnRate['5m']).toBeGreaterThan(6); // the 6 h / 30 m pair's factor at least: the history is seconds old, all windows agree
  }, 120_000);

  it('answers every query of the exported Grafana dashboard without an error, and with data where nines serve exports it', async () => {
    const p = prometheus as NonNullable<typeof prometheus>;
    target.state.up = false; // failed checks for the failure-rate panel, also when this test runs alone
    const dashboard = JSON.parse(execFileSync(process.execPath, [bin, 'export', 'grafana', '--config', config], { encoding: 'utf8' }));
    const exprs: string[] = dashboard.panels.flatMap((panel: { targets?: Array<{ expr: string }> }) =>
      (panel.targets ?? []).map((t) => t.expr),
    );
    expect(exprs.sort()).toEqual(Object.values(DASHBOARD_QUERIES).sort()); // no panel query left out of this test
    // what Grafana substitutes: all components and SLOs, the default window, a rate interval of a few scrapes
    const concrete = (expr: string) =>
      expr.replaceAll('$component', '.*').replaceAll('$slo', '.*').replaceAll('$window', '30d').replaceAll('$__rate_interval', '1m');
    for (const [name, expr] of Object.entries(DASHBOARD_QUERIES)) {
      const first = await promQuery(p.base, concrete(expr)); // a PromQL error throws here
      // nines serve runs no breaker (services using the library export them), and this config has no https component
      if (name === 'breakers' || name === 'certificates') expect(first, name).toEqual([]);
      // a rate() needs two scrapes of a series, and the unhealthy counter starts at the first failure
      else
        await until(
          `data for the ${name} panel`,
          async () => ((await promQuery(p.base, concrete(expr))).length > 0 ? true : undefined),
          60_000,
        );
    }
    for (const variable of dashboard.templating.list.filter((v: { type: string }) => v.type === 'query')) {
      const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(variable.query) ?? [];
      const values = (await (await fetch(`${p.base}/api/v1/label/${label}/values?match[]=${metric}`)).json()) as { data: string[] };
      expect(values.data.length, variable.name).toBeGreaterThan(0);
    }
  }, 120_000);

  it('fires and resolves the exported threshold rule as the target goes down and comes back', async () => {
    const p = prometheus as NonNullable<typeof prometheus>;
    const incident = async () => (await promAlerts(p.base)).find((a) => a.labels.alertname === 'NinesIncidentOpen');
    target.state.up = true;
    await until('no incident open in Prometheus', async () => ((await incident()) === undefined ? true : undefined), 60_000);
    const downAt = Date.now();
    target.state.up = false;
    const fired = await until(
      'NinesIncidentOpen to fire',
      async () => {
        const a = await incident();
        return a?.state === 'firing' ? a : undefined;
      },
      60_000,
    );
    console.log(
      `[alerts-prometheus] NinesIncidentOpen firing in Prometheus ${((Date.now() - downAt) / 1000).toFixed(1)} s after the target went down`,
    );
    expect(fired.labels).toEqual({ alertname: 'NinesIncidentOpen', rule: 'web-down', severity: 'page', component: 'web' });
    const upAt = Date.now();
    target.state.up = true;
    await until('NinesIncidentOpen to resolve', async () => ((await incident()) === undefined ? true : undefined), 60_000);
    console.log(
      `[alerts-prometheus] NinesIncidentOpen resolved in Prometheus ${((Date.now() - upAt) / 1000).toFixed(1)} s after the target recovered`,
    );
  }, 120_000);
});
