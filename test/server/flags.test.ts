import { afterEach, describe, expect, it } from 'vitest';
import { formatProblems, parseConfig } from '../../src/config/index.js';
import { harness, pauseCheckout, sample, TOKEN } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

const auth = { authorization: `Bearer ${TOKEN}` };

/** The harness config with two flags: one rolled out by rule, one killed. */
const FLAGS = `
flags:
  checkout:
    description: new checkout
    minLevel: degraded
    rules:
      - when: [{ attribute: userId, operator: IN, values: [ada] }]
        rollout: 25
  search-v2:
    enabled: false
`;

async function withFlags() {
  const h = await harness({ token: true, yaml: (text) => text + FLAGS });
  open.push(h.close);
  return h;
}

const metrics = async (h: Awaited<ReturnType<typeof withFlags>>) => (await h.app.inject('/metrics')).body;

describe('/api/flags', () => {
  it("lists the config's flags with their state, never their rules", async () => {
    const h = await withFlags();
    const res = await h.app.inject('/api/flags');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      flags: [
        { name: 'checkout', enabled: true, live: true, minLevel: 'degraded', description: 'new checkout' },
        { name: 'search-v2', enabled: false, live: false, minLevel: null, description: null },
      ],
    });
    expect(res.body).not.toContain('ada');
    const text = await metrics(h);
    expect(sample(text, 'nines_flag_enabled', { flag: 'checkout' })).toBe(1);
    expect(sample(text, 'nines_flag_enabled', { flag: 'search-v2' })).toBe(0);
    expect(sample(text, 'nines_degradation_level', { level: 'full' })).toBe(1);
  });

  it('PUT and the audit log need the token', async () => {
    const h = await withFlags();
    const put = (headers: Record<string, string>) =>
      h.app.inject({ method: 'PUT', url: '/api/flags/search-v2', headers, payload: { enabled: true } });
    expect((await put({})).statusCode).toBe(401);
    expect((await put({ authorization: 'Bearer wrong-token-0123456789' })).statusCode).toBe(401);
    expect((await h.app.inject('/api/flags/audit')).statusCode).toBe(401);
    expect((await h.app.inject('/api/flags')).json().flags[1].enabled).toBe(false);
  });

  it('answers a bad flag with 400 and every problem at its path, and changes nothing', async () => {
    const h = await withFlags();
    const put = (payload: unknown, name = 'checkout') =>
      h.app.inject({
        method: 'PUT',
        url: `/api/flags/${name}`,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
    const bad = await put({ enabled: 'yes', rules: [{ rollout: 101 }], colour: 'red' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('invalid flag');
    expect(bad.json().details).toEqual(
      expect.arrayContaining([expect.stringMatching(/^enabled: /), expect.stringMatching(/^rules\[0\]\.rollout: /)]),
    );
    const orphan = await put({ dependsOn: [{ flag: 'nope' }] });
    expect(orphan.statusCode).toBe(400);
    expect(orphan.json().details).toEqual(['checkout.dependsOn[0].flag: no flag "nope" in this file']);
    expect((await put(null)).statusCode).toBe(400);
    expect((await put({}, 'Bad Name')).statusCode).toBe(400);
    expect((await h.app.inject('/api/flags')).json().flags[0]).toMatchObject({ name: 'checkout', enabled: true });
    expect((await h.app.inject({ url: '/api/flags/audit', headers: auth })).json()).toEqual({ entries: [] });
  });

  it('applies a PUT: the list, /metrics and the audit log show it', async () => {
    const h = await withFlags();
    await h.clock.advance(5_000);
    const res = await pauseCheckout(h.app);
    expect(res.statusCode).toBe(200);
    expect(res.json().flag).toEqual({ name: 'checkout', enabled: false, live: false, minLevel: null, description: 'paused' });
    expect((await h.app.inject('/api/flags')).json().flags[0]).toEqual(res.json().flag);
    expect(sample(await metrics(h), 'nines_flag_enabled', { flag: 'checkout' })).toBe(0);

    // a new flag, then its removal, by the default author
    const added = await h.app.inject({ method: 'PUT', url: '/api/flags/dark-mode', headers: auth, payload: {} });
    expect(added.json().flag).toMatchObject({ name: 'dark-mode', enabled: true, live: true });
    expect(sample(await metrics(h), 'nines_flag_enabled', { flag: 'dark-mode' })).toBe(1);
    expect((await h.app.inject({ method: 'DELETE', url: '/api/flags/dark-mode', headers: auth })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'DELETE', url: '/api/flags/dark-mode', headers: auth })).statusCode).toBe(404);
    expect(sample(await metrics(h), 'nines_flag_enabled', { flag: 'dark-mode' })).toBeUndefined();

    const audit = (await h.app.inject({ url: '/api/flags/audit', headers: auth })).json().entries;
    const at = new Date(h.clock.now()).toISOString();
    expect(audit).toEqual([
      { at, by: 'api', flag: 'dark-mode', before: { enabled: true }, after: null },
      { at, by: 'api', flag: 'dark-mode', before: null, after: { enabled: true } },
      {
        at,
        by: 'ada',
        flag: 'checkout',
        before: expect.objectContaining({ enabled: true, minLevel: 'degraded', rules: [expect.objectContaining({ rollout: 25 })] }),
        after: { enabled: false, description: 'paused' },
      },
    ]);
  });

  it('PUT is limited by the writes allowance', async () => {
    const h = await harness({
      token: true,
      yaml: (text) =>
        text.replace(`server: { token: "${TOKEN}" }`, `server: { token: "${TOKEN}", rateLimit: { writes: { limit: 2, window: 1m } } }`),
    });
    open.push(h.close);
    const put = () => h.app.inject({ method: 'PUT', url: '/api/flags/a', headers: auth, payload: {} });
    expect((await put()).statusCode).toBe(200);
    expect((await put()).statusCode).toBe(200);
    expect((await put()).statusCode).toBe(429);
    expect((await h.app.inject('/api/flags')).statusCode).toBe(200);
  });
});

describe('flags: in the config', () => {
  it('reports a bad flag as path: message', () => {
    const text = `
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
flags:
  checkout:
    minLevel: sometimes
    rules: [{ rollout: 200 }]
  Bad: {}
`;
    const r = parseConfig(text, { env: {} });
    expect(r.ok).toBe(false);
    const lines = r.ok ? [] : formatProblems(r.problems);
    expect(lines).toEqual([
      'flags.checkout.minLevel: expected one of full, degraded, minimal, maintenance',
      'flags.checkout.rules[0].rollout: must be at most 100',
      'flags.Bad: name must be lower case letters, digits, ".", "_" or "-", starting with a letter or digit',
    ]);
  });

  it('reports a parent that is not defined', () => {
    const text = `
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
flags:
  child: { dependsOn: [{ flag: missing }] }
`;
    const r = parseConfig(text, { env: {} });
    expect(r.ok ? [] : formatProblems(r.problems)).toEqual(['flags.child.dependsOn[0].flag: no flag "missing" in this file']);
  });

  it('defaults to no flags', () => {
    const r = parseConfig('components:\n  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }\n', { env: {} });
    expect(r.ok && r.config.flags).toEqual({});
  });
});
