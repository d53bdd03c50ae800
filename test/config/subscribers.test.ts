/** `subscribers` in the config: off by default, its defaults, and every problem at its path. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';

const COMPONENTS = 'components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]';
const RECEIVERS = `notify:
  receivers:
    - { name: hook, webhook: { url: 'https://h.example.com/x' } }
    - { name: mail, email: { smtp: { host: smtp.example.com }, from: 'a@example.com', to: ['b@example.com'] } }`;

const parse = (text: string) => parseConfig(`${COMPONENTS}\n${text}`, { env: {} });
const problems = (text: string) => {
  const r = parse(text);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('subscribers in the config', () => {
  it('is off by default, with a day to confirm and Alertmanager-like batches', () => {
    const r = parse('');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.subscribers).toEqual({
      enabled: false,
      webhook: { enabled: false, allowPrivate: false, timeout: 10_000 },
      confirmTtl: 86_400_000,
      announceAhead: 86_400_000,
      group: { wait: 30_000, interval: 300_000 },
    });
  });

  it('takes an e-mail receiver as via, with page.url', () => {
    expect(
      problems(`page: { url: 'https://status.example.com' }\n${RECEIVERS}\nsubscribers: { enabled: true, email: { via: mail } }`),
    ).toEqual([]);
  });

  it('names every problem at its path', () => {
    expect(problems(`${RECEIVERS}\nsubscribers: { enabled: true, email: { via: hook } }`)).toEqual([
      'subscribers.enabled: needs page.url: the links in confirmations and updates are built from it',
      'subscribers.email.via: receiver "hook" is not an e-mail receiver',
    ]);
    expect(
      problems(`page: { url: 'https://s.example.com' }\nsubscribers: { enabled: true, email: { via: nobody }, confirmTtl: 1s }`),
    ).toEqual(['subscribers.email.via: no receiver named "nobody" in notify.receivers', 'subscribers.confirmTtl: must be at least 1m']);
    expect(problems(`page: { url: 'https://s.example.com' }\nsubscribers: { enabled: true }`)).toEqual([
      'subscribers: enabled, but neither email.via nor webhook.enabled is set',
    ]);
  });
});
