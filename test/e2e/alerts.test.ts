/**
 * nines serve's own alerts: a loopback target goes down, GET /api/alerts lists the burn alerts
 * firing (and the log says so once); after a restart over the same store they are still firing
 * from the same instant, with nothing announced again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertingConfig, switchableTarget } from '../support/alerting.js';
import { bin, ensureBuilt, exitOf, startServing, until } from '../support/e2e.js';

interface ApiAlert {
  labels: Record<string, string>;
  state: string;
  firedAt: string | null;
}

describe('nines serve evaluates its alerts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-alerts-'));
  let target: Awaited<ReturnType<typeof switchableTarget>> | undefined;
  afterAll(async () => {
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the burn alerts firing when the target goes down, and still after a restart, announced once', async () => {
    ensureBuilt();
    const server = await switchableTarget();
    target = server;
    const { path: config, base } = await alertingConfig(dir, server.port, { extra: 'alerts: { evaluationInterval: 200ms }' });
    const alerts = async () => ((await (await fetch(`${base}/api/alerts`)).json()) as { alerts: ApiAlert[] }).alerts;
    const firing = async () => {
      const list = await alerts();
      return list.length === 2 && list.every((a) => a.state === 'firing') ? list : undefined;
    };

    const first = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 });
    await until('a few evaluations with the target up', async () =>
      (await (await fetch(`${base}/api/slos`)).json()).slos.length ? true : undefined,
    );
    expect(await alerts()).toEqual([]);
    server.state.up = false;
    const before = await until('both burn alerts to fire', firing, 60_000);
    expect(before.map((a) => a.labels.severity).sort()).toEqual(['page', 'ticket']);
    expect(before[0]?.labels).toMatchObject({ alertname: 'NinesErrorBudgetBurn', slo: 'web-slo', component: 'web' });
    await until('the log to say so', async () => (first.output().match(/alert firing/g)?.length === 2 ? true : undefined));
    first.proc.kill('SIGTERM');
    expect(await exitOf(first.proc)).toBe(0);

    const second = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 });
    try {
      const after = await until('the stored alerts to be read', firing, 60_000);
      const bySeverity = (list: ApiAlert[]) => list.map((a) => [a.labels.severity, a.firedAt]).sort();
      expect(bySeverity(after)).toEqual(bySeverity(before)); // the same alerts, fired at the same instant
      // listed only once the first evaluation ran on what the store kept: it announced nothing
      expect(second.output()).not.toMatch(/alert firing/);
    } finally {
      second.proc.kill('SIGTERM');
      await exitOf(second.proc);
    }
  }, 120_000);
});
