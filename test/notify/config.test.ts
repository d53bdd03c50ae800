import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';

const problems = (notify: string, env: Record<string, string> = {}) => {
  const r = parseConfig(`components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]\nnotify:\n${notify}`, { env });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('notify in the config', () => {
  it('has defaults for every webhook setting', () => {
    const r = parseConfig(
      `components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]\nnotify: { receivers: [{ name: a, webhook: { url: 'https://h.example.com/x' } }] }`,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.notify).toEqual({
      receivers: [
        {
          name: 'a',
          webhook: { url: 'https://h.example.com/x', timeout: 5000, maxAttempts: 5, retryDelay: 1000 },
          group: { by: ['alertname'], wait: 30_000, interval: 300_000 },
        },
      ],
      routes: [],
    });
  });

  it('names every problem at its path, and never echoes a secret from the environment', () => {
    const found = problems(`  receivers: [{ name: a, webhook: { url: 'https://h.example.com/x', secret: '\${SHORT}' } }]`, {
      SHORT: 'hunter2',
    });
    expect(found).toEqual(['notify.receivers[0].webhook.secret: must be at least 16 characters (try: openssl rand -hex 32)']);
    expect(found.join('\n')).not.toContain('hunter2');
    expect(
      problems(
        `  receivers:
    - { name: a, webhook: { url: 'ftp://x', secret: '\${SHORT}' } }
    - { name: a, webhook: { url: 'https://h.example.com/x', maxAttempts: 0 } }
  routes: [{ match: { severity: page }, receiver: b }]`,
        { SHORT: 'hunter2' },
      ),
    ).toEqual([
      'notify.receivers[0].webhook.url: expected an http(s) URL',
      'notify.receivers[0].webhook.secret: must be at least 16 characters (try: openssl rand -hex 32)',
      'notify.receivers[1].name: duplicate receiver name "a"',
      'notify.receivers[1].webhook.maxAttempts: must be at least 1',
      'notify.routes[0].receiver: no receiver named "b"',
    ]);
    expect(
      problems(`  receivers: [{ name: a, webhook: { url: 'https://h.example.com/x' } }, { name: a, webhook: { url: 'https://h.example.com/y' } }]
  routes: [{ receiver: b }]`),
    ).toEqual(['notify.receivers[1].name: duplicate receiver name "a"', 'notify.routes[0].receiver: no receiver named "b"']);
  });

  it('has defaults for Slack and e-mail: submission port 587 with STARTTLS required, 465 with secure', () => {
    const r = parseConfig(
      `components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]
notify:
  receivers:
    - { name: chat, slack: { url: '\${SLACK_WEBHOOK_URL}' } }
    - { name: mail, email: { smtp: { host: smtp.example.com, user: nines, password: '\${SMTP_PASSWORD}' }, from: nines@example.com, to: ['On call <oncall@example.com>'] } }
    - { name: tls, email: { smtp: { host: smtp.example.com, secure: true }, from: nines@example.com, to: [sre@example.com] } }`,
      { env: { SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/xyz', SMTP_PASSWORD: 'pw' } },
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const [chat, mail, tls] = r.config.notify.receivers;
    expect(chat?.slack).toEqual({ url: 'https://hooks.slack.com/services/T0/B0/xyz', timeout: 5000, maxAttempts: 5, retryDelay: 1000 });
    expect(mail?.email).toEqual({
      smtp: { host: 'smtp.example.com', port: 587, secure: false, requireTLS: true, user: 'nines', password: 'pw', timeout: 30_000 },
      from: 'nines@example.com',
      to: ['On call <oncall@example.com>'],
      maxAttempts: 5,
      retryDelay: 1000,
    });
    expect(tls?.email?.smtp).toMatchObject({ port: 465, secure: true });
  });

  it('names the problems of Slack and e-mail receivers at their paths, never echoing the URL or the password', () => {
    const found = problems(
      `  receivers:
    - { name: chat, slack: { url: '\${SLACK_WEBHOOK_URL}', maxAttempts: 0 } }
    - name: mail
      email:
        smtp: { host: smtp.example.com, port: 0, user: nines }
        from: 'nines'
        to: [oncall@example.com, "x@example.com\\r\\nBcc: all@example.com", 'not an address']
    - { name: none, email: { smtp: { host: h, password: '\${SMTP_PASSWORD}' }, from: n@example.com, to: [] } }
    - { name: two, slack: { url: 'https://h.example.com/x' }, webhook: { url: 'https://h.example.com/y' } }`,
      { SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T0/B0/xyz', SMTP_PASSWORD: 'hunter2-secret' },
    );
    expect(found).toEqual([
      'notify.receivers[0].slack.url: expected an http(s) URL',
      'notify.receivers[0].slack.maxAttempts: must be at least 1',
      'notify.receivers[1].email.smtp.password: needed with user',
      'notify.receivers[1].email.smtp.port: must be at least 1',
      'notify.receivers[1].email.from: expected an e-mail address',
      'notify.receivers[1].email.to[1]: expected an e-mail address',
      'notify.receivers[1].email.to[2]: expected an e-mail address',
      'notify.receivers[2].email.smtp.user: needed with password',
      'notify.receivers[2].email.to: needs at least one recipient',
      'notify.receivers[3]: needs exactly one of webhook, slack, email, alertmanager',
    ]);
    expect(found.join('\n')).not.toContain('xyz');
    expect(found.join('\n')).not.toContain('hunter2');
  });
});
