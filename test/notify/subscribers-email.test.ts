/**
 * E-mail subscribers against a real SMTP server on loopback and a real monitor on a fake clock:
 * the form's post, the confirmation mail and its link, an incident's mail with RFC 8058
 * List-Unsubscribe headers, the one-click unsubscribe, and silence after it; the same answer for
 * a new and a known address; the public write limit; addresses in no log, metric or API answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanups } from '../support/notify.js';
import { rawHeader, smtpServer } from '../support/smtp.js';
import { linkIn, subscriberSetup, subscriberYaml, TOKEN } from '../support/subscribers.js';

const cleanup = cleanups();
afterEach(cleanup.run);

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('e-mail subscribers', () => {
  it('subscribe, confirm, get an incident with List-Unsubscribe, unsubscribe in one click, then nothing', async () => {
    const smtp = await smtpServer(cleanup, 'PLAIN');
    // all three down at once is an outage here, not the monitor's own network
    const s = await subscriberSetup(cleanup, subscriberYaml({ smtpPort: smtp.port, more: 'connectivity: { allFailing: false }' }));
    const updates = s.makeUpdates();
    const page = await s.app.inject({ method: 'GET', url: '/' });
    expect(page.body).toContain('<form method="post" action="/subscribe" id="sub-email">');

    const asked = await s.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email: 'Ada@Example.com' }) });
    expect(asked.statusCode).toBe(202);
    expect(asked.headers['content-type']).toContain('text/html');
    expect(asked.body).toContain('Check your inbox');
    await s.subscriptions.settle();
    expect(smtp.got).toHaveLength(1);
    const [confirmation] = smtp.got;
    expect(confirmation?.rcptTo).toEqual(['ada@example.com']);
    expect(confirmation?.mail.subject).toBe('[Acme status] Confirm your subscription');
    expect(confirmation?.mail.from?.value).toEqual([{ name: 'Status', address: 'status@example.com' }]);
    expect(confirmation?.mail.text).toContain('within 1d');

    // nothing is sent before the confirmation
    s.world.api = 'unhealthy';
    await s.clock.advance(5_000);
    await s.clock.advance(60_000);
    expect(smtp.got).toHaveLength(1);
    s.world.api = 'healthy';
    await s.clock.advance(5 * 60_000);

    // the link's page asks (a mail scanner's GET subscribes nobody); its button POSTs
    const link = linkIn(confirmation?.mail.text ?? '', '/subscribe/confirm');
    const linkPage = await s.app.inject({ method: 'GET', url: link });
    expect(linkPage.body).toContain('<form method="post" action="/subscribe/confirm" id="confirm">');
    expect((await s.subscriptions.summary()).counts.email).toEqual({ confirmed: 0, pending: 1 });
    const confirmed = await s.app.inject({ method: 'POST', url: link });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('<h2 id="h-sub">Subscribed</h2>');
    expect(confirmed.body).toContain('data-refresh="0"');

    // web and api down at once: one message with both; db is internal and never named
    s.world.api = 'unhealthy';
    s.world.web = 'unhealthy';
    s.world.db = 'unhealthy';
    await s.clock.advance(3_000); // the third failure opens each incident
    await s.clock.advance(30_000); // group.wait
    await updates.delivered();
    expect(smtp.got).toHaveLength(1); // the last batch (the unconfirmed time's resolution) went less than group.interval ago
    await updates.settle(); // sends the batch now (on the fake clock, a real SMTP exchange must not race more fake time)
    const [, incident] = smtp.got;
    expect(incident?.rcptTo).toEqual(['ada@example.com']);
    expect(incident?.mail.subject).toMatch(/^\[Acme status\] 2 updates: (api|web) is down \(since 2026-06-01 12:\d\d UTC\), …$/);
    expect(incident?.mail.text).toContain('api is down');
    expect(incident?.mail.text).toContain('web is down');
    expect(incident?.mail.text).not.toContain('db');
    expect(incident?.mail.text).toContain('https://status.example.com/components/api');
    const unsubscribe = linkIn(incident?.mail.text ?? '', '/unsubscribe');
    expect(rawHeader(incident?.mail as never, 'List-Unsubscribe')).toBe(`<https://status.example.com${unsubscribe}>`);
    expect(rawHeader(incident?.mail as never, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(incident?.mail.html).toContain(`<a href="https://status.example.com${unsubscribe}">Unsubscribe</a>`);

    // the link's page asks (a scanner's GET changes nothing); the one-click POST of RFC 8058 removes
    const shown = await s.app.inject({ method: 'GET', url: unsubscribe });
    expect(shown.body).toContain('<form method="post" action="/unsubscribe" id="unsubscribe">');
    const oneClick = await s.app.inject({ method: 'POST', url: unsubscribe, headers: FORM, payload: 'List-Unsubscribe=One-Click' });
    expect(oneClick.statusCode).toBe(200);
    expect(oneClick.body).toContain('Unsubscribed');
    expect(
      (await s.app.inject({ method: 'POST', url: unsubscribe, headers: FORM, payload: 'List-Unsubscribe=One-Click' })).statusCode,
    ).toBe(404);

    s.world.api = 'healthy';
    s.world.web = 'healthy';
    await s.clock.advance(3_000);
    await s.clock.advance(10 * 60_000);
    await updates.settle();
    expect(smtp.got).toHaveLength(2);
  });

  it('answers a new and an already subscribed address the same, mails a confirmation at most every 5 minutes, and follows only chosen components', async () => {
    const smtp = await smtpServer(cleanup, 'PLAIN');
    const s = await subscriberSetup(cleanup, subscriberYaml({ smtpPort: smtp.port }));
    const ask = (email: string, components?: string[]) =>
      s.app.inject({ method: 'POST', url: '/subscribe', payload: { email, ...(components ? { components } : {}) } });
    const first = await ask('bob@example.com', ['web']);
    await s.subscriptions.settle();
    await s.app.inject({ method: 'POST', url: linkIn(smtp.got[0]?.mail.text ?? '', '/subscribe/confirm') });
    const again = await ask('bob@example.com', ['web']);
    const fresh = await ask('carol@example.com');
    for (const answer of [again, fresh]) {
      expect(answer.statusCode).toBe(first.statusCode);
      expect(answer.body).toBe(first.body);
      expect(answer.headers['content-type']).toBe(first.headers['content-type']);
    }
    expect(first.statusCode).toBe(202);
    expect(JSON.parse(first.body)).toEqual({ status: 'pending', message: expect.stringContaining('If it can be subscribed') });
    await s.subscriptions.settle();
    expect(smtp.got.map((g) => g.rcptTo[0])).toEqual(['bob@example.com', 'bob@example.com', 'carol@example.com']);
    await ask('carol@example.com');
    await s.subscriptions.settle();
    expect(smtp.got).toHaveLength(3); // within 5 minutes: not mailed again

    const problems = await s.app.inject({ method: 'POST', url: '/subscribe', payload: { email: 'not-an-address', components: ['db'] } });
    expect(problems.statusCode).toBe(400);
    expect(JSON.parse(problems.body).details).toEqual([
      { in: 'body', path: 'email', message: 'expected an e-mail address' },
      { in: 'body', path: 'components[0]', message: 'no public component of that name' },
    ]);

    // bob follows web only: api's incident does not reach him, web's does
    const updates = s.makeUpdates();
    s.world.api = 'unhealthy';
    await s.clock.advance(3_000);
    await s.clock.advance(30_000);
    await updates.delivered();
    expect(smtp.got).toHaveLength(3);
    s.world.web = 'unhealthy';
    await s.clock.advance(3_000);
    await updates.settle();
    expect(smtp.got.map((g) => g.mail.subject)).toContain('[Acme status] web is down (since 2026-06-01 12:00 UTC)');
  });

  it('refuses the public write past server.rateLimit.publicWrites with a 429', async () => {
    const smtp = await smtpServer(cleanup, 'PLAIN');
    const s = await subscriberSetup(
      cleanup,
      subscriberYaml({ smtpPort: smtp.port, more: '' }).replace(
        'server: {',
        'server: { rateLimit: { publicWrites: { limit: 3, window: 1h } },',
      ),
    );
    const codes: number[] = [];
    for (let i = 0; i < 4; i++)
      codes.push((await s.app.inject({ method: 'POST', url: '/subscribe', payload: { email: `v${i}@example.com` } })).statusCode);
    expect(codes).toEqual([202, 202, 202, 429]);
  });

  it('never shows an address in a log, a metric or the API, even when the server refuses it', async () => {
    const refused = 'refused-person@example.org';
    const smtp = await smtpServer(cleanup, 'PLAIN', { refuseRecipients: (a) => a === refused });
    const s = await subscriberSetup(cleanup, subscriberYaml({ smtpPort: smtp.port }));
    for (const email of ['dora@example.com', refused])
      await s.app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: form({ email }) });
    await s.subscriptions.settle();
    expect(s.logs).toHaveLength(1);
    expect(s.logs[0]).toContain('no such mailbox <***>');

    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await s.app.inject({ method: 'GET', url: '/api/subscribers' })).statusCode).toBe(401);
    const api = await s.app.inject({ method: 'GET', url: '/api/subscribers', headers: auth });
    const listed = JSON.parse(api.body);
    expect(listed.counts).toEqual({ email: { confirmed: 0, pending: 2 }, webhook: { confirmed: 0, pending: 0 } });
    expect(listed.subscribers.map((x: { address: string }) => x.address)).toEqual(['d***@example.com', 'r***@example.org']);
    const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('nines_subscriber_notifications_total{kind="email",outcome="delivered"} 1');
    expect(metrics).toContain('nines_subscriber_notifications_total{kind="email",outcome="failed"} 1');
    for (const text of [...s.logs, api.body, metrics]) {
      expect(text).not.toContain('dora@');
      expect(text).not.toContain('refused-person');
    }

    const id = listed.subscribers[1].id as number;
    expect((await s.app.inject({ method: 'DELETE', url: `/api/subscribers/${id}`, headers: auth })).statusCode).toBe(200);
    expect((await s.app.inject({ method: 'DELETE', url: `/api/subscribers/${id}`, headers: auth })).statusCode).toBe(404);
  });
});
