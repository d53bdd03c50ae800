/**
 * The connectivity guard on a real nines serve: while the canary fails, a target's failure is not
 * evidence (no incident, no page, unobserved time, one connectivity alert instead); with the
 * canary answering, every target failing at once is a real outage and pages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alertingConfig, switchableTarget } from '../support/alerting.js';
import { bin, ensureBuilt, exitOf, startServing, until } from '../support/e2e.js';
import { hookReceiver } from '../support/notify.js';

interface Message {
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

describe('connectivity guard on nines serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-conn-'));
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds every page while the canary fails, and pages a real outage while it answers', async () => {
    ensureBuilt();
    const targets = { gw: await switchableTarget(), a: await switchableTarget(), b: await switchableTarget(), c: await switchableTarget() };
    for (const t of Object.values(targets)) cleanup.push(t.close);
    const hook = await hookReceiver({ add: (f) => cleanup.push(async () => f()) }, () => 200);
    const hookUrl = hook.url;
    const got = () => hook.got.map((r) => JSON.parse(r.body) as Message);
    const url = (name: keyof typeof targets) => `http://127.0.0.1:${targets[name].port}/`;
    const { path: config, base } = await alertingConfig(dir, 0, {
      components: `components:
  - { name: gw, canary: true, check: { type: http, url: '${url('gw')}' } }
  - { name: a, check: { type: http, url: '${url('a')}' } }
  - { name: b, check: { type: http, url: '${url('b')}' } }
  - { name: c, check: { type: http, url: '${url('c')}' } }`,
      extra: `alerts: { evaluationInterval: 200ms, rules: [{ name: open, type: incident, for: 0s, severity: page, component: a }, { name: open-b, type: incident, for: 0s, severity: page, component: b }] }
notify:
  receivers: [{ name: oncall, webhook: { url: '${hookUrl}', secret: 'e2e-secret-0123456789abcdef' }, group: { by: [alertname, component], wait: 0s, interval: 0s } }]`,
    });
    const serving = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 });
    cleanup.push(async () => {
      serving.proc.kill('SIGTERM');
      await exitOf(serving.proc);
    });
    const components = async () =>
      (await (await fetch(`${base}/api/components`)).json()) as {
        components: Array<{ name: string; status: string; incidentSince: string | null }>;
        connectivity: { suspect: boolean; reason: string | null };
      };
    const sent = (kind: string, alertname: string, component?: string) =>
      got().some((m) => m.alerts.some((x) => x.status === kind && x.labels.alertname === alertname && x.labels.component === component));
    await until('every component checked', async () =>
      (await components()).components.every((c) => c.status === 'healthy' || c.status === 'degraded') ? true : undefined,
    );

    // the canary fails first, then a: a's failures are not evidence
    targets.gw.state.up = false;
    await until('the guard to suspect the network', async () => ((await components()).connectivity.suspect ? true : undefined));
    expect((await components()).connectivity.reason).toBe('canary');
    targets.a.state.up = false;
    await until('a to be unknown', async () =>
      (await components()).components.find((c) => c.name === 'a')?.status === 'unknown' ? true : undefined,
    );
    await until('the connectivity alert', async () => (sent('firing', 'NinesMonitorConnectivityLost') ? true : undefined), 60_000);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^nines_monitor_connectivity_suspect 1$/m);
    expect((await components()).components.find((c) => c.name === 'a')?.incidentSince).toBeNull();
    targets.gw.state.up = true;
    targets.a.state.up = true;
    await until(
      'the connectivity alert to resolve',
      async () => (sent('resolved', 'NinesMonitorConnectivityLost') ? true : undefined),
      60_000,
    );
    expect(got().flatMap((m) => m.alerts.map((x) => x.labels.alertname))).not.toContain('NinesIncidentOpen');
    const a = (await (await fetch(`${base}/api/components/a`)).json()).figures['1h'];
    expect(a.downtimeSeconds).toBe(0);

    // with the canary answering, a and b and c all down is a real outage: it pages
    targets.a.state.up = false;
    targets.b.state.up = false;
    targets.c.state.up = false;
    await until(
      'a and b to page',
      async () => (sent('firing', 'NinesIncidentOpen', 'a') && sent('firing', 'NinesIncidentOpen', 'b') ? true : undefined),
      60_000,
    );
    expect((await components()).connectivity.suspect).toBe(false);
    expect(serving.output()).toMatch(/the monitor's own network is suspect/);
  }, 120_000);
});
