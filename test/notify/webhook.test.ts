/**
 * The webhook notifier against a real receiver on loopback: a signed Alertmanager-shaped body per
 * event, routed by labels; with the receiver answering 503 it retries, keeps the dead letter in a
 * real store and counts it, and the secret appears nowhere but in the signature.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SIGNATURE_HEADER, signature, TIMESTAMP_HEADER } from '../../src/notify/webhook.js';
import { cleanups, counted, alertEvent as event, hookReceiver, notifierSetup, T } from '../support/notify.js';

const SECRET = 'test-secret-0123456789abcdef';

const cleanup = cleanups();
afterEach(cleanup.run);

const receiver = (status: () => number) => hookReceiver(cleanup, status);
const setup = (notify: string, clock?: ManualClock) =>
  notifierSetup(cleanup, notify, { env: { HOOK_SECRET: SECRET }, ...(clock ? { clock } : {}) });

describe('webhook notifications', () => {
  it('POSTs a signed, Alertmanager-shaped body per event to the receivers its routes name', async () => {
    const pager = await receiver(() => 200);
    const tickets = await receiver(() => 204);
    const { notifier, registry } = await setup(`  receivers:
    - { name: pager, webhook: { url: '${pager.url}', secret: '\${HOOK_SECRET}' } }
    - { name: tickets, webhook: { url: '${tickets.url}' } }
  routes:
    - { match: { severity: page }, receiver: pager }
    - { match: { severity: ticket }, receiver: tickets }
`);
    notifier.notify(event('firing', 'page'));
    notifier.notify(event('firing', 'ticket'));
    await notifier.settle(); // sends what waits in its group now
    notifier.notify(event('resolved', 'page', T + 60_000));
    await notifier.settle();
    expect(pager.got).toHaveLength(2);
    expect(tickets.got).toHaveLength(1);
    for (const r of pager.got) {
      const ts = Number(r.headers[TIMESTAMP_HEADER]);
      expect(r.headers[SIGNATURE_HEADER]).toBe(signature(SECRET, ts, r.body)); // a receiver recomputes it
      expect(r.headers[SIGNATURE_HEADER]).not.toBe(signature('another-secret-0123456789', ts, r.body));
      expect(r.body).not.toContain(SECRET);
    }
    expect(tickets.got[0]?.headers[SIGNATURE_HEADER]).toBeUndefined(); // no secret, no signature
    const [firing, resolved] = pager.got.map((r) => JSON.parse(r.body));
    expect(firing).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'pager',
      commonLabels: { severity: 'page', slo: 'api-slo' },
      alerts: [
        {
          status: 'firing',
          startsAt: new Date(T).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'https://status.example.com/components/api',
        },
      ],
      nines: { events: [{ kind: 'firing', at: new Date(T).toISOString(), fingerprint: 'fp-NinesErrorBudgetBurn-page-api' }] },
    });
    expect(resolved).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', endsAt: new Date(T + 60_000).toISOString() }] });
    expect(await counted(registry, 'pager', 'delivered')).toBe(2);
    expect(await counted(registry, 'pager', 'dead_letter')).toBe(0);
  });

  it('retries a receiver that fails, then keeps a dead letter and counts it; a 4xx is not retried', async () => {
    const down = await receiver(() => 503);
    const refusing = await receiver(() => 400);
    const { notifier, store, registry } = await setup(`  receivers:
    - { name: down, webhook: { url: '${down.url}', secret: '\${HOOK_SECRET}', maxAttempts: 3, retryDelay: 1ms } }
    - { name: refusing, webhook: { url: '${refusing.url}', maxAttempts: 3, retryDelay: 1ms } }
`);
    notifier.notify(event('firing', 'page'));
    await notifier.settle();
    expect(down.got).toHaveLength(3);
    expect(refusing.got).toHaveLength(1);
    const letters = await store.deadLetters({ limit: 10 });
    expect(letters.map((l) => [l.receiver, l.attempts, l.error]).sort()).toEqual([
      ['down', 3, 'receiver answered 503'],
      ['refusing', 1, 'receiver answered 400'],
    ]);
    expect(JSON.parse(letters[0]?.body ?? '{}')).toMatchObject({ status: 'firing', commonLabels: { severity: 'page' } });
    for (const l of letters) expect(JSON.stringify(l)).not.toContain(SECRET);
    expect(await counted(registry, 'down', 'dead_letter')).toBe(1);
    expect(await counted(registry, 'down', 'delivered')).toBe(0);
  });

  it('keeps a dead letter for a receiver nobody listens at, without a crash', async () => {
    const { notifier, store } = await setup(`  receivers:
    - { name: gone, webhook: { url: 'http://127.0.0.1:1/hook', maxAttempts: 2, retryDelay: 1ms, timeout: 1s } }
`);
    notifier.notify(event('firing', 'page'));
    await notifier.settle();
    const [letter] = await store.deadLetters({ limit: 1 });
    expect(letter).toMatchObject({ receiver: 'gone', attempts: 2 });
    expect(letter?.error).toMatch(/ECONNREFUSED|connect/);
  });

  it('groups as Alertmanager does: one message after group.wait, then at most one per group.interval, per group.by labels', async () => {
    const hook = await receiver(() => 200);
    const clock = new ManualClock(T);
    const { notifier } = await setup(
      `  receivers:
    - { name: hook, webhook: { url: '${hook.url}' }, group: { by: [alertname], wait: 30s, interval: 5m } }
`,
      clock,
    );
    const sent = () =>
      hook.got.map((r) => JSON.parse(r.body) as { groupLabels: object; alerts: Array<{ status: string; labels: { component: string } }> });
    notifier.notify(event('firing', 'page', T, 'api'));
    notifier.notify(event('firing', 'page', T, 'db'));
    notifier.notify(event('firing', 'page', T, 'cache', 'NinesIncidentOpen')); // another group
    await clock.advance(29_999);
    await notifier.delivered();
    expect(hook.got).toEqual([]);
    await clock.advance(1);
    await notifier.delivered();
    expect(sent().map((m) => [m.groupLabels, m.alerts.map((a) => a.labels.component)])).toEqual([
      [{ alertname: 'NinesErrorBudgetBurn' }, ['api', 'db']],
      [{ alertname: 'NinesIncidentOpen' }, ['cache']],
    ]);
    notifier.notify(event('resolved', 'page', T + 60_000, 'db')); // within the interval: waits for it
    await clock.advance(60_000);
    await notifier.delivered();
    expect(hook.got).toHaveLength(2);
    await clock.advance(5 * 60_000 - 60_000 - 1);
    await notifier.delivered();
    expect(hook.got).toHaveLength(2);
    await clock.advance(1);
    await notifier.delivered();
    expect(sent()[2]).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', labels: { component: 'db' } }] });
    expect(hook.got).toHaveLength(3);
  });
});
