/** When nines posts to Alertmanager, on a fake clock against a loopback receiver: news at once, firing alerts every resendInterval with endsAt ahead, resolved ones for 15 minutes. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActiveAlert, AlertEvent } from '../../src/alerts/lifecycle.js';
import { ManualClock } from '../../src/core/clock.js';
import { AlertmanagerSender, type PostableAlert, RESOLVED_RESEND_MS } from '../../src/notify/alertmanager.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function alertmanager(status = 200) {
  const posts: PostableAlert[][] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (req.url === '/api/v2/alerts' && req.method === 'POST') posts.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { posts, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const T = Date.UTC(2026, 6, 1);
const SECOND = 1000;
const alert: ActiveAlert = {
  fingerprint: 'f1',
  labels: { alertname: 'NinesErrorBudgetBurn', severity: 'page', slo: 's', component: 'api' },
  annotations: { summary: 'x' },
  state: 'firing',
  activeAt: T,
  firedAt: T,
  sentAt: T,
};
const fired: AlertEvent = { kind: 'firing', alert, at: T };

describe('AlertmanagerSender', () => {
  it('posts news at once, resends firing alerts every interval with endsAt four ahead, and resolved ones for 15 minutes', async () => {
    const am = await alertmanager();
    const clock = new ManualClock(T);
    const sender = new AlertmanagerSender(
      { urls: [am.url], resendInterval: 60 * SECOND, timeout: 5 * SECOND },
      { clock, baseUrl: 'https://s.example.com' },
    );
    expect(await sender.evaluated(T, [alert], [fired])).toEqual([{ url: `${am.url}/` }]); // as redactUrl writes it
    expect(am.posts).toEqual([
      [
        {
          labels: alert.labels,
          annotations: alert.annotations,
          startsAt: new Date(T).toISOString(),
          endsAt: new Date(T + 240 * SECOND).toISOString(),
          generatorURL: 'https://s.example.com/components/api',
        },
      ],
    ]);
    expect(await sender.evaluated(T + 30 * SECOND, [alert], [])).toEqual([]); // nothing new, not due
    expect(await sender.evaluated(T + 60 * SECOND, [alert], [])).toHaveLength(1); // due
    expect(am.posts[1]?.[0]?.endsAt).toBe(new Date(T + 300 * SECOND).toISOString());
    const resolvedAt = T + 90 * SECOND;
    expect(await sender.evaluated(resolvedAt, [], [{ kind: 'resolved', alert, at: resolvedAt }])).toHaveLength(1); // news
    expect(am.posts[2]).toEqual([expect.objectContaining({ endsAt: new Date(resolvedAt).toISOString() })]);
    expect(await sender.evaluated(resolvedAt + RESOLVED_RESEND_MS, [], [])).toHaveLength(1); // still resent
    expect(await sender.evaluated(resolvedAt + RESOLVED_RESEND_MS + 60 * SECOND + 1, [], [])).toEqual([]); // forgotten
    expect(am.posts).toHaveLength(4);
  });

  it('reports each Alertmanager on its own: one refusing does not stop the other', async () => {
    const good = await alertmanager(200);
    const bad = await alertmanager(500);
    const sender = new AlertmanagerSender({ urls: [bad.url, good.url], resendInterval: 60 * SECOND, timeout: 5 * SECOND });
    expect(await sender.evaluated(T, [alert], [fired])).toEqual([
      { url: `${bad.url}/`, error: 'receiver answered 500' },
      { url: `${good.url}/` },
    ]);
    expect(good.posts).toHaveLength(1);
  });
});
