/**
 * The e-mail notifier against a real SMTP server (smtp-server) on loopback, logging in with AUTH
 * PLAIN and LOGIN; each received message is parsed with mailparser. A wrong password is retried,
 * counted and kept as a dead letter, and the password (which the server echoes) appears nowhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/alerts/lifecycle.js';
import { alertEvent, cleanups, counted, notifierSetup, T } from '../support/notify.js';
import { PASSWORD, type Received, smtpServer as smtpOn } from '../support/smtp.js';

const cleanup = cleanups();
afterEach(cleanup.run);

const smtpServer = (method: 'PLAIN' | 'LOGIN', options: { refuseRecipients?: boolean } = {}) => smtpOn(cleanup, method, options);
const figures = () => ({ availability: 0.99912, budgetRemaining: 0.4231, burnRates: { '5m': 14.4, '1h': 6.0234 } });

const receiver = (port: number, password = `\${SMTP_PASSWORD}`, smtpExtra = ', requireTLS: false') => `  receivers:
    - name: mail
      email:
        smtp: { host: 127.0.0.1, port: ${port}, user: nines, password: '${password}', timeout: 5s${smtpExtra} }
        from: 'nines <nines@example.com>'
        to: [oncall@example.com, sre@example.com]
        maxAttempts: 3
        retryDelay: 1ms
`;

const env = { SMTP_PASSWORD: PASSWORD, WRONG_PASSWORD: 'not-the-password-at-all' };

describe('e-mail notifications', () => {
  it.each(['PLAIN', 'LOGIN'] as const)('sends one message per group flush, logging in with AUTH %s', async (method) => {
    const smtp = await smtpServer(method);
    const { notifier, registry } = await notifierSetup(cleanup, receiver(smtp.port), { env, figures });
    notifier.notify(alertEvent('firing', 'page'));
    notifier.notify(alertEvent('firing', 'ticket'));
    await notifier.settle();
    expect(smtp.logins).toEqual([method]);
    expect(smtp.got).toHaveLength(1);
    const [{ mail, rcptTo }] = smtp.got as [Received];
    expect(mail.subject).toBe('[FIRING:2] NinesErrorBudgetBurn api-slo');
    expect(mail.from?.value).toEqual([{ name: 'nines', address: 'nines@example.com' }]);
    expect(Array.isArray(mail.to) ? [] : mail.to?.value.map((a) => a.address)).toEqual(['oncall@example.com', 'sre@example.com']);
    expect(rcptTo).toEqual(['oncall@example.com', 'sre@example.com']);
    const alertText = (severity: string) =>
      [
        'NinesErrorBudgetBurn firing: burning',
        '  Component: api',
        '  SLO: api-slo',
        `  Severity: ${severity}`,
        '  Since: 2026-06-01 12:00 UTC',
        '  Availability: 99.912 %',
        '  Budget remaining: 42.3 %',
        '  Burn rates: 5m 14.4, 1h 6.02',
        '  https://status.example.com/components/api',
      ].join('\n');
    expect(mail.text?.trimEnd()).toBe(
      [
        '[FIRING:2] NinesErrorBudgetBurn api-slo',
        alertText('page'),
        alertText('ticket'),
        'Status page: https://status.example.com\n-- \nsent by nines',
      ].join('\n\n'),
    );
    expect(mail.html).toContain('<a href="https://status.example.com/components/api">NinesErrorBudgetBurn</a> firing: burning</h3>');
    expect(mail.html).toContain('<a href="https://status.example.com">Status page</a>');
    expect(await counted(registry, 'mail', 'delivered')).toBe(1);
  });

  it('escapes everything an alert carries in the HTML body, and says RESOLVED when all are', async () => {
    const smtp = await smtpServer('PLAIN');
    const { notifier } = await notifierSetup(cleanup, receiver(smtp.port), { env });
    const odd: AlertEvent = alertEvent('resolved', 'page', T + 90_000, 'a"<b>');
    odd.alert.annotations = { summary: '<script>alert(1)</script> & "co"' };
    notifier.notify(odd);
    await notifier.settle();
    const [{ mail }] = smtp.got as [Received];
    expect(mail.subject).toBe('[RESOLVED] NinesErrorBudgetBurn api-slo');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('resolved: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;</h3>');
    expect(mail.html).toContain('<tr><th align="left">Component</th><td>a&quot;&lt;b&gt;</td></tr>');
    expect(mail.html).toContain('<a href="https://status.example.com/components/a%22%3Cb%3E">');
    expect(mail.text).toContain('  Resolved: 2026-06-01 12:01 UTC');
  });

  it('retries a refused login, counts the failure, keeps a dead letter, and the password is nowhere', async () => {
    const smtp = await smtpServer('PLAIN');
    const errors: unknown[] = [];
    const { notifier, store, registry } = await notifierSetup(cleanup, receiver(smtp.port, `\${WRONG_PASSWORD}`), {
      env,
      onError: (error) => errors.push(error),
    });
    notifier.notify(alertEvent('firing', 'page'));
    await notifier.settle();
    expect(smtp.logins).toEqual(['PLAIN', 'PLAIN', 'PLAIN']);
    expect(smtp.got).toEqual([]);
    const [letter, ...others] = await store.deadLetters({ limit: 5 });
    expect(others).toEqual([]);
    expect(letter).toMatchObject({ receiver: 'mail', attempts: 3, error: expect.stringContaining('Invalid login') });
    expect(letter?.error).toContain('nines/***'); // the server echoed it; nines scrubbed it
    expect(JSON.parse(letter?.body ?? '{}')).toMatchObject({
      from: 'nines <nines@example.com>',
      to: ['oncall@example.com', 'sre@example.com'],
      subject: '[FIRING:1] NinesErrorBudgetBurn api-slo',
    });
    const everything = JSON.stringify([letter, errors.map(String)]);
    expect(everything).not.toContain(env.WRONG_PASSWORD);
    expect(everything).not.toContain(Buffer.from(env.WRONG_PASSWORD).toString('base64'));
    expect(await counted(registry, 'mail', 'dead_letter')).toBe(1);
    expect(await counted(registry, 'mail', 'delivered')).toBe(0);
  });

  it('does not retry recipients the server refuses for good (5xx)', async () => {
    const smtp = await smtpServer('PLAIN', { refuseRecipients: true });
    const { notifier, store } = await notifierSetup(cleanup, receiver(smtp.port), { env });
    notifier.notify(alertEvent('firing', 'page'));
    await notifier.settle();
    expect(smtp.logins).toEqual(['PLAIN']);
    expect(await store.deadLetters({ limit: 5 })).toMatchObject([{ receiver: 'mail', attempts: 1 }]);
  });

  it('by default refuses to log in over a connection STARTTLS did not protect', async () => {
    const smtp = await smtpServer('PLAIN');
    const { notifier, store } = await notifierSetup(cleanup, receiver(smtp.port, `\${SMTP_PASSWORD}`, ''), { env });
    notifier.notify(alertEvent('firing', 'page'));
    await notifier.settle();
    expect(smtp.logins).toEqual([]); // the password never went out
    const [letter] = await store.deadLetters({ limit: 5 });
    expect(letter).toMatchObject({ receiver: 'mail', attempts: 3 });
    expect(letter?.error).toMatch(/STARTTLS|TLS/);
  });
});
