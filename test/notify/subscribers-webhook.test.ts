/**
 * Webhook subscribers against loopback receivers and a real monitor on a fake clock: confirmed by
 * echoing the challenge (or by opening its link), signed updates for the components followed,
 * public incident updates only, the unsubscribe URL; maintenance announced once when due, started
 * and ended (also over a restart), incidents inside it unannounced; and the SSRF guard.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { isInternal, subscriberDispatcher } from '../../src/notify/subscriber-target.js';
import { signature } from '../../src/notify/webhook.js';
import { cleanups } from '../support/notify.js';
import { START, subscriberSetup, subscriberYaml, TOKEN } from '../support/subscribers.js';

const cleanup = cleanups();
afterEach(cleanup.run);

interface Update {
  type: string;
  component?: string;
  components?: string[];
  message?: string;
  text: string;
}
interface Body {
  type: string;
  challenge?: string;
  secret?: string;
  confirm?: string;
  updates?: Update[];
  unsubscribe?: string;
}

/** A receiver on loopback keeping what it got; with `echo` it answers a challenge with it, as nines asks. */
async function receiver(echo: boolean) {
  const got: Array<{ headers: IncomingHttpHeaders; raw: string; body: Body }> = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as Body;
      got.push({ headers: req.headers, raw, body });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(echo && body.challenge ? JSON.stringify({ challenge: body.challenge }) : '{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.add(() => new Promise<void>((r) => server.close(() => r())));
  const updates = () => got.filter((g) => g.body.type === 'updates');
  return { got, updates, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

const WEBHOOKS = 'webhook: { enabled: true, allowPrivate: true }';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('webhook subscribers', () => {
  it('confirm by echoing the challenge, get signed updates of what they follow, and leave by the unsubscribe URL', async () => {
    const hook = await receiver(true);
    const s = await subscriberSetup(cleanup, subscriberYaml({ subscribers: WEBHOOKS }));
    const updates = s.makeUpdates();
    const asked = await s.app.inject({ method: 'POST', url: '/subscribe', payload: { webhook: hook.url, components: ['api'] } });
    expect(asked.statusCode).toBe(202);
    await s.subscriptions.settle();
    const [challenge] = hook.got;
    expect(challenge?.body).toMatchObject({ type: 'subscription.challenge', challenge: expect.stringMatching(/^[\w-]{43}$/) });
    const secret = challenge?.body.secret ?? '';
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const ts = Number(challenge?.headers['x-nines-timestamp']);
    expect(challenge?.headers['x-nines-signature']).toBe(signature(secret, ts, challenge?.raw ?? ''));
    const listed = JSON.parse((await s.app.inject({ method: 'GET', url: '/api/subscribers', headers: auth })).body);
    expect(listed.counts.webhook).toEqual({ confirmed: 1, pending: 0 });
    expect(listed.subscribers[0].address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\*\*\*$/);

    // web is not followed; api's incident is
    s.world.web = 'unhealthy';
    s.world.api = 'unhealthy';
    await s.clock.advance(3_000);
    await s.clock.advance(30_000);
    await updates.delivered();
    const [first] = hook.updates();
    expect(first?.body.updates?.map((u) => [u.type, u.component])).toEqual([['incident.opened', 'api']]);
    const signedAt = Number(first?.headers['x-nines-timestamp']);
    expect(first?.headers['x-nines-signature']).toBe(signature(secret, signedAt, first?.raw ?? ''));

    const [incident] = JSON.parse((await s.app.inject({ method: 'GET', url: '/api/incidents?component=api' })).body).items;
    for (const visibility of ['internal', 'public'])
      await s.app.inject({
        method: 'POST',
        url: `/api/incidents/${incident.id}/updates`,
        headers: auth,
        payload: { message: `${visibility}: a bad deploy`, visibility, status: 'identified' },
      });
    await s.clock.advance(60_000);
    expect(hook.updates()).toHaveLength(1); // group.interval has not passed since the first message
    await updates.settle();
    const [, second] = hook.updates();
    expect(second?.body.updates).toEqual([
      expect.objectContaining({
        type: 'incident.updated',
        component: 'api',
        message: 'public: a bad deploy',
        text: 'Update on api (Identified): public: a bad deploy',
      }),
    ]);

    const unsubscribe = new URL(second?.body.unsubscribe ?? '');
    expect(unsubscribe.origin).toBe('https://status.example.com');
    expect((await s.app.inject({ method: 'POST', url: `${unsubscribe.pathname}${unsubscribe.search}` })).statusCode).toBe(200);
    s.world.api = 'healthy';
    await s.clock.advance(3_000);
    await updates.settle();
    expect(hook.updates()).toHaveLength(2);
  });

  it('two instances seeing one incident announce it once when they claim it first (HA); without claims, twice', async () => {
    const hook = await receiver(true);
    const s = await subscriberSetup(cleanup, subscriberYaml({ subscribers: WEBHOOKS }));
    await s.app.inject({ method: 'POST', url: '/subscribe', payload: { webhook: hook.url, components: ['api'] } });
    await s.subscriptions.settle();
    const claim = (key: string, at: number) => s.store.subscribers.claimNotice(key, at);
    // a stalled instance and its successor both saw api's incident open, then close
    const both = [s.makeUpdates(claim), s.makeUpdates(claim)];
    s.world.api = 'unhealthy';
    await s.clock.advance(3_000);
    await s.clock.advance(30_000);
    s.world.api = 'healthy';
    await s.clock.advance(3_000);
    for (const u of both) await u.settle();
    const announced = hook.updates().flatMap((g) => g.body.updates?.map((u) => u.type) ?? []);
    expect(announced).toEqual(['incident.opened', 'incident.resolved']);
    // the control: two without claims announce everything twice
    const unclaimed = [s.makeUpdates(), s.makeUpdates()];
    s.world.api = 'unhealthy';
    await s.clock.advance(3_000);
    for (const u of [...both, ...unclaimed]) await u.settle();
    const later = hook.updates().flatMap((g) => g.body.updates?.map((u) => u.type) ?? []);
    // the second incident: once from the two that claim, once from each of the two that do not
    expect(later.filter((t) => t === 'incident.opened')).toHaveLength(1 + 1 + 2);
  });

  it('stays pending when the receiver does not echo, until the link in the challenge is opened', async () => {
    const hook = await receiver(false);
    const s = await subscriberSetup(cleanup, subscriberYaml({ subscribers: WEBHOOKS }));
    await s.app.inject({ method: 'POST', url: '/subscribe', payload: { webhook: hook.url } });
    await s.subscriptions.settle();
    const counts = async () =>
      JSON.parse((await s.app.inject({ method: 'GET', url: '/api/subscribers', headers: auth })).body).counts.webhook;
    expect(await counts()).toEqual({ confirmed: 0, pending: 1 });
    expect(s.logs.join('\n')).toContain('the answer did not hold the challenge');
    expect(s.logs.join('\n')).not.toContain(hook.url);
    const link = new URL(hook.got[0]?.body.confirm ?? '');
    expect((await s.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` })).statusCode).toBe(200);
    expect(await counts()).toEqual({ confirmed: 0, pending: 1 }); // opening it shows a button
    expect((await s.app.inject({ method: 'POST', url: `${link.pathname}${link.search}` })).statusCode).toBe(200);
    expect(await counts()).toEqual({ confirmed: 1, pending: 0 });
  });

  it('announces maintenance once when due, when it starts and when it ends, and no incident inside it', async () => {
    const minute = 60_000; // a short window: every simulated second runs the monitor's checks
    const iso = (ms: number) => new Date(ms).toISOString();
    const hook = await receiver(true);
    const s = await subscriberSetup(
      cleanup,
      subscriberYaml({
        subscribers: WEBHOOKS,
        more: `maintenance:
  - { name: db-upgrade, title: Database upgrade, start: '${iso(START + 10 * minute)}', end: '${iso(START + 20 * minute)}', components: [api, db] }
  - { name: internal-only, title: Hidden, start: '${iso(START + 10 * minute)}', end: '${iso(START + 20 * minute)}', components: [db] }`,
      }),
    );
    let updates = s.makeUpdates();
    await s.app.inject({ method: 'POST', url: '/subscribe', payload: { webhook: hook.url } });
    await s.subscriptions.settle();
    const step = async (to: number) => {
      await s.clock.set(to);
      await updates.tick();
      // to group.wait exactly: the post is real I/O, which more fake time would time out
      await s.clock.advance(30_000);
      await updates.delivered();
    };
    await step(START + minute);
    await step(START + 11 * minute);
    s.world.api = 'unhealthy'; // inside the window: no incident message
    await s.clock.advance(10_000);
    s.world.api = 'healthy';
    await step(START + 19 * minute);
    await step(START + 21 * minute);
    updates = s.makeUpdates(); // a restart: what was announced is in the store
    await step(START + 22 * minute);
    expect(s.logs).toEqual([]);
    const seen = hook.updates().flatMap((g) => g.body.updates ?? []);
    expect(seen.map((u) => [u.type, u.components])).toEqual([
      ['maintenance.scheduled', ['api']],
      ['maintenance.started', ['api']],
      ['maintenance.ended', ['api']],
    ]);
    expect(seen[0]?.text).toBe('Scheduled maintenance: Database upgrade, 2026-06-01 12:10 UTC to 2026-06-01 12:20 UTC; affects api');
  });

  it('refuses URLs that are not http(s) or point inside, and the dispatcher refuses names that resolve inside', async () => {
    const s = await subscriberSetup(cleanup, subscriberYaml({ subscribers: 'webhook: { enabled: true }' }));
    for (const [url, message] of [
      ['ftp://example.com/x', 'must be an http or https URL'],
      ['http://127.0.0.1:8080/x', 'must not point to a loopback, private or other internal address'],
      ['http://[::1]/x', 'must not point to a loopback, private or other internal address'],
      ['http://10.1.2.3/x', 'must not point to a loopback, private or other internal address'],
      ['http://169.254.169.254/latest/meta-data', 'must not point to a loopback, private or other internal address'],
      ['http://localhost:1/x', 'must not point to a loopback, private or other internal address'],
    ]) {
      const res = await s.app.inject({ method: 'POST', url: '/subscribe', payload: { webhook: url } });
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).details).toEqual([{ in: 'body', path: 'webhook', message }]);
    }
    expect(['8.8.8.8', '2606:4700::1111'].map(isInternal)).toEqual([false, false]);
    expect(['::ffff:127.0.0.1', '::ffff:7f00:1', 'fd00::1', '100.64.0.1', '0.0.0.0', '255.255.255.255'].map(isInternal)).toEqual(
      Array(6).fill(true),
    );

    const target = await receiver(false);
    const byName = target.url.replace('127.0.0.1', 'localhost');
    const guarded = subscriberDispatcher(false);
    const open = subscriberDispatcher(true);
    cleanup.add(() => Promise.all([guarded.close(), open.close()]).then(() => undefined));
    const post = { method: 'POST' as const, body: '{}' };
    await expect(request(byName, { ...post, dispatcher: guarded })).rejects.toThrow('the host resolves only to internal addresses');
    expect((await request(byName, { ...post, dispatcher: open })).statusCode).toBe(200);
  });
});
