/**
 * nines serve posting to two real Alertmanagers directly: both list the page alert while the
 * loopback target is down, with nines' labels as the identity, and both see it resolved once it
 * recovers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertingConfig, switchableTarget } from '../support/alerting.js';
import { hasAlertmanager, startAlertmanager } from '../support/alertmanager.js';
import { bin, ensureBuilt, exitOf, startServing, until } from '../support/e2e.js';

describe.skipIf(!hasAlertmanager())('nines serve and a real Alertmanager', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-am-'));
  const cleanup: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
    rmSync(dir, { recursive: true, force: true });
  });

  it('posts the firing page alert to every Alertmanager, and its resolution', async () => {
    ensureBuilt();
    const target = await switchableTarget();
    cleanup.push(target.close);
    const am = [await startAlertmanager(), await startAlertmanager()];
    for (const a of am) cleanup.push(a.stop);
    // pages once half the observed time is down, resolves once more than half is up again: seconds, not an hour
    const { path: config, base } = await alertingConfig(dir, target.port, {
      slo: 'alerting: { page: [{ long: 1h, short: 5m, budget: 69% }], ticket: false, labels: { team: web } }',
      extra: `alerts: { evaluationInterval: 200ms }\nnotify:\n  receivers: [{ name: am, alertmanager: { urls: ['${am[0]?.base}', '${am[1]?.base}'], resendInterval: 5s } }]`,
    });
    const serving = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 });
    cleanup.push(async () => {
      serving.proc.kill('SIGTERM');
      await exitOf(serving.proc);
    });
    const page = async (a: (typeof am)[number]) => (await a.alerts()).find((x) => x.labels.alertname === 'NinesErrorBudgetBurn');

    const slo = async () =>
      ((await (await fetch(`${base}/api/slos`)).json()) as { slos: Array<{ burnRate: Record<string, number | null> }> }).slos[0];
    await until('observed time with the target up', async () => ((await slo())?.burnRate['5m'] === 0 ? true : undefined), 60_000);
    for (const a of am) expect(await a.alerts()).toEqual([]);
    const downAt = Date.now();
    target.state.up = false;
    const listed = await Promise.all(am.map((a) => until('the page in Alertmanager', async () => page(a), 60_000)));
    console.log(
      `[alertmanager] page active in both Alertmanagers ${((Date.now() - downAt) / 1000).toFixed(1)} s after the target went down`,
    );
    for (const alert of listed) {
      expect(alert.labels).toEqual({ alertname: 'NinesErrorBudgetBurn', severity: 'page', slo: 'web-slo', component: 'web', team: 'web' });
      expect(alert.status.state).toBe('active');
      expect(Date.parse(alert.endsAt)).toBeGreaterThan(Date.parse(alert.startsAt)); // endsAt ahead: it expires if nines goes silent
    }
    expect(listed[0]?.startsAt).toBe(listed[1]?.startsAt);

    const upAt = Date.now();
    target.state.up = true;
    await Promise.all(
      am.map((a) => until('the page resolved in Alertmanager', async () => ((await page(a)) === undefined ? true : undefined), 60_000)),
    );
    console.log(
      `[alertmanager] page resolved in both Alertmanagers ${((Date.now() - upAt) / 1000).toFixed(1)} s after the target recovered`,
    );
  }, 120_000);
});
