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
});
