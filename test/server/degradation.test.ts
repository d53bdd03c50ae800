import { afterEach, describe, expect, it } from 'vitest';
import { harness, sample, TOKEN } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

const auth = { authorization: `Bearer ${TOKEN}` };

/** The harness config with a flag that needs the full level. */
async function withLevel() {
  const h = await harness({ token: true, yaml: (text) => `${text}\nflags:\n  search-v2:\n    minLevel: full\n` });
  open.push(h.close);
  return h;
}

type H = Awaited<ReturnType<typeof withLevel>>;

const put = (h: H, payload: unknown, headers: Record<string, string> = auth) =>
  h.app.inject({
    method: 'PUT',
    url: '/api/degradation',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify(payload),
  });
const live = async (h: H) => (await h.app.inject('/api/flags')).json().flags[0].live;
const level = async (h: H, name: string) => sample((await h.app.inject('/metrics')).body, 'nines_degradation_level', { level: name });

describe('/api/degradation', () => {
  it('is full, from the rules, until an operator sets it', async () => {
    const h = await withLevel();
    const { statusCode, body } = await h.app.inject('/api/degradation');
    expect([statusCode, JSON.parse(body)]).toEqual([
      200,
      {
        level: 'full',
        reason: 'no rule matches',
        source: 'rules',
        since: new Date(h.clock.now()).toISOString(),
        until: null,
        rules: { level: 'full', reason: 'no rule matches', rule: null },
      },
    ]);
    expect(await level(h, 'full')).toBe(1);
    expect(sample((await h.app.inject('/metrics')).body, 'nines_degradation_reason', { reason: 'none' })).toBe(1);
  });

  it('PUT, DELETE and the audit need the token', async () => {
    const h = await withLevel();
    expect((await put(h, { level: 'degraded' }, {})).statusCode).toBe(401);
    expect((await put(h, { level: 'degraded' }, { authorization: 'Bearer wrong-token-0123456789' })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'DELETE', url: '/api/degradation' })).statusCode).toBe(401);
    expect((await h.app.inject('/api/degradation/audit')).statusCode).toBe(401);
    expect((await h.app.inject('/api/degradation')).json().level).toBe('full');
  });

  it('answers a bad body with 400 and every problem at its path, and changes nothing', async () => {
    const h = await withLevel();
    const bad = await put(h, { level: 'half', reason: 7, until: 'soon', colour: 'red' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('invalid degradation level');
    expect(bad.json().details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^level: /),
        expect.stringMatching(/^reason: /),
        expect.stringMatching(/^until: /),
        expect.stringMatching(/colour/),
      ]),
    );
    expect((await put(h, null)).statusCode).toBe(400);
    const past = await put(h, { level: 'minimal', until: new Date(h.clock.now()).toISOString() });
    expect(past.statusCode).toBe(400);
    expect(past.json().details).toEqual(['until: must be in the future']);
    expect((await h.app.inject('/api/degradation')).json().level).toBe('full');
    expect((await h.app.inject({ url: '/api/degradation/audit', headers: auth })).json()).toEqual({ entries: [] });
  });

  it('a PUT lowers the level: GET, /metrics and the flags follow; DELETE restores full; the audit holds both', async () => {
    const h = await withLevel();
    expect(await live(h)).toBe(true);
    await h.clock.advance(5_000);
    const set = await put(h, { level: 'degraded', reason: 'INC-1' }, { ...auth, 'x-nines-by': 'ada' });
    expect(set.statusCode).toBe(200);
    const setAt = new Date(h.clock.now()).toISOString();
    const rules = { level: 'full', reason: 'no rule matches', rule: null }; // what the level is once cleared
    const state = { level: 'degraded', reason: 'INC-1', source: 'manual', since: setAt, until: null, rules };
    expect(set.json()).toEqual(state);
    expect((await h.app.inject('/api/degradation')).json()).toEqual(state);
    expect(await level(h, 'degraded')).toBe(1);
    expect(await level(h, 'full')).toBe(0);
    expect(sample((await h.app.inject('/metrics')).body, 'nines_degradation_reason', { reason: 'manual' })).toBe(1);
    expect(await live(h)).toBe(false);

    await h.clock.advance(5_000);
    const cleared = await h.app.inject({ method: 'DELETE', url: '/api/degradation', headers: { ...auth, 'x-nines-by': 'bob' } });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toMatchObject({ level: 'full', source: 'rules' });
    expect(await level(h, 'full')).toBe(1);
    expect(await live(h)).toBe(true);
    expect((await h.app.inject({ method: 'DELETE', url: '/api/degradation', headers: auth })).statusCode).toBe(404);

    const audit = (await h.app.inject({ url: '/api/degradation/audit', headers: auth })).json().entries;
    expect(audit).toEqual([
      {
        at: new Date(h.clock.now()).toISOString(),
        by: 'bob',
        from: 'degraded',
        to: 'full',
        reason: 'no rule matches',
        source: 'manual',
        until: null,
        rule: null,
      },
      { at: setAt, by: 'ada', from: 'full', to: 'degraded', reason: 'INC-1', source: 'manual', until: null, rule: null },
    ]);
  });

  it('an override with until lapses on the clock', async () => {
    const h = await withLevel();
    const until = new Date(h.clock.now() + 60_000).toISOString();
    const set = await put(h, { level: 'maintenance', until });
    expect(set.json()).toMatchObject({ level: 'maintenance', reason: 'set by api', until });
    await h.clock.advance(60_000);
    expect((await h.app.inject('/api/degradation')).json()).toMatchObject({ level: 'full', source: 'rules' });
    const audit = (await h.app.inject({ url: '/api/degradation/audit', headers: auth })).json().entries;
    expect(audit.map((e: { source: string; by: string }) => [e.source, e.by])).toEqual([
      ['expiry', 'api'],
      ['manual', 'api'],
    ]);
  });
});
