/**
 * nines serve's own alerts: a loopback target goes down, GET /api/alerts lists the burn alerts
 * firing (and the log says so once); after a restart over the same store they are still firing
 * from the same instant, with nothing announced again. Webhooks per incident, dependsOn, and a
 * receiver swapped by SIGHUP.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signature } from '../../src/notify/webhook.js';
import { alertingConfig, switchableTarget } from '../support/alerting.js';
import { bin, ensureBuilt, exitOf, GiveUp, startServing, until } from '../support/e2e.js';
import { hookReceiver } from '../support/notify.js';

interface ApiAlert {
  labels: Record<string, string>;
  state: string;
  firedAt: string | null;
}

describe('nines serve evaluates its alerts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nines-alerts-'));
  let target: Awaited<ReturnType<typeof switchableTarget>> | undefined;
  const cleanupTarget: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await target?.close();
    for (const f of cleanupTarget) await f();
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

  it('sends one signed firing and one resolved webhook per incident to a loopback receiver', async () => {
    ensureBuilt();
    const server = await switchableTarget();
    cleanupTarget.push(server.close);
    const secret = 'e2e-secret-0123456789abcdef';
    const got: Array<{ body: string; timestamp: number; signature: string | undefined }> = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        got.push({
          body,
          timestamp: Number(req.headers['x-nines-timestamp']),
          signature: req.headers['x-nines-signature'] as string | undefined,
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    cleanupTarget.push(() => new Promise<void>((r) => hook.close(() => r())));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const sub = mkdtempSync(join(dir, 'webhook-'));
    // a page that fires once half the observed time is down and resolves once more than half is up again: seconds, not an hour
    const { path: config, base } = await alertingConfig(sub, server.port, {
      slo: 'alerting: { page: [{ long: 1h, short: 5m, budget: 69% }], ticket: false }',
      extra: `alerts: { evaluationInterval: 200ms }\nnotify:\n  receivers: [{ name: oncall, webhook: { url: '${hookUrl}', secret: '\${HOOK_SECRET}' }, group: { wait: 0s, interval: 0s } }]`,
    });
    const serving = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000, env: { HOOK_SECRET: secret } });
    try {
      const slo = async () =>
        ((await (await fetch(`${base}/api/slos`)).json()) as { slos: Array<{ burnRate: Record<string, number | null> }> }).slos[0];
      await until('observed time with the target up', async () => ((await slo())?.burnRate['5m'] === 0 ? true : undefined), 60_000);
      server.state.up = false;
      await until('the firing webhook', async () => (got.length >= 1 ? true : undefined), 60_000);
      server.state.up = true;
      await until('the resolved webhook', async () => (got.length >= 2 ? true : undefined), 60_000);
      await until('the alert gone from the API', async () =>
        (await (await fetch(`${base}/api/alerts`)).json()).alerts.length === 0 ? true : undefined,
      );
    } finally {
      serving.proc.kill('SIGTERM');
      await exitOf(serving.proc);
    }
    expect(got.map((g) => JSON.parse(g.body).status)).toEqual(['firing', 'resolved']); // one each, nothing after
    for (const g of got) expect(g.signature).toBe(signature(secret, g.timestamp, g.body));
    const [firing] = got.map((g) => JSON.parse(g.body));
    expect(firing.alerts[0].labels).toMatchObject({
      alertname: 'NinesErrorBudgetBurn',
      severity: 'page',
      slo: 'web-slo',
      component: 'web',
    });
    expect(firing.nines.events[0].figures.burnRates['5m']).toBeGreaterThan(496.8);
    expect(serving.output()).not.toContain(secret);
  }, 120_000);

  it('holds the alerts of a component while the one it depends on is down (dependsOn), and sends them once it fails on its own', async () => {
    ensureBuilt();
    const db = await switchableTarget();
    const api = await switchableTarget();
    cleanupTarget.push(db.close, api.close);
    const sub = mkdtempSync(join(dir, 'deps-'));
    const { path: config, base } = await alertingConfig(sub, db.port, {
      components: `components:
  - { name: db, check: { type: http, url: 'http://127.0.0.1:${db.port}/' } }
  - { name: api, dependsOn: [db], check: { type: http, url: 'http://127.0.0.1:${api.port}/' } }`,
      extra: 'alerts: { evaluationInterval: 200ms, rules: [{ name: open, type: incident, for: 0s, severity: page }] }',
    });
    const serving = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 });
    try {
      const firing = async () =>
        ((await (await fetch(`${base}/api/alerts`)).json()) as { alerts: ApiAlert[] }).alerts
          .filter((a) => a.state === 'firing')
          .map((a) => a.labels.component)
          .sort();
      const incidents = async () =>
        ((await (await fetch(`${base}/api/incidents`)).json()) as { items: Array<{ component: string; active: boolean }> }).items
          .filter((i) => i.active)
          .map((i) => i.component)
          .sort();
      db.state.up = false;
      api.state.up = false;
      await until('both incidents open', async () => ((await incidents()).length === 2 ? true : undefined));
      await until('the db alert', async () => ((await firing()).includes('db') ? true : undefined));
      expect(await firing()).toEqual(['db']); // api is held while db is down, though its incident is open
      db.state.up = true;
      await until('the api alert, on its own now', async () => (JSON.stringify(await firing()) === '["api"]' ? true : undefined));
    } finally {
      serving.proc.kill('SIGTERM');
      await exitOf(serving.proc);
    }
  }, 120_000);

  it('refuses a broken config on SIGHUP and keeps serving, then takes a new receiver from the next one', async () => {
    ensureBuilt();
    const server = await switchableTarget();
    cleanupTarget.push(server.close);
    const hooks = { add: (f: () => Promise<void> | void) => cleanupTarget.push(async () => f()) };
    const before = await hookReceiver(hooks, () => 200);
    const after = await hookReceiver(hooks, () => 200);
    const sub = mkdtempSync(join(dir, 'reload-'));
    const { path: config, base } = await alertingConfig(sub, server.port, {
      slo: 'alerting: { page: [{ long: 1h, short: 5m, budget: 69% }], ticket: false }',
      extra: `alerts: { evaluationInterval: 200ms }\nnotify:\n  receivers: [{ name: oncall, webhook: { url: '${before.url}' }, group: { wait: 0s, interval: 0s } }]`,
    });
    const serving = await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000, env: { NINES_LOG_LEVEL: 'info' } });
    const written = readFileSync(config, 'utf8');
    const reload = async (text: string, logged: RegExp) => {
      const seen = serving.output().match(new RegExp(logged, 'g'))?.length ?? 0;
      writeFileSync(config, text);
      serving.proc.kill('SIGHUP');
      await until(`the log line ${logged}`, async () =>
        (serving.output().match(new RegExp(logged, 'g'))?.length ?? 0) > seen ? true : undefined,
      );
    };
    try {
      await reload(written.replace('name: oncall', 'name: On Call'), /config reload rejected/);
      await reload(written.replace('name: oncall', 'name: chat').replace(before.url, after.url), /config reloaded/);
      const slo = async () =>
        ((await (await fetch(`${base}/api/slos`)).json()) as { slos: Array<{ burnRate: Record<string, number | null> }> }).slos[0];
      await until('observed time with the target up', async () => ((await slo())?.burnRate['5m'] === 0 ? true : undefined), 60_000);
      server.state.up = false;
      await until(
        'the firing webhook at the new receiver',
        async () => {
          if (before.got.length > 0) throw new GiveUp('the removed receiver got it');
          return after.got.length > 0 ? true : undefined;
        },
        60_000,
      );
    } finally {
      serving.proc.kill('SIGTERM');
      await exitOf(serving.proc);
    }
    expect(JSON.parse(after.got[0]?.body ?? '{}')).toMatchObject({ status: 'firing', receiver: 'chat' });
    expect(before.got).toEqual([]);
  }, 120_000);
});
