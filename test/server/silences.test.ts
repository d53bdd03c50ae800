import { afterEach, describe, expect, it } from 'vitest';
import { harness, TOKEN } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const T0 = Date.UTC(2025, 0, 1);

describe('/api/silences', () => {
  it('makes a silence only with the token, lists it as Alertmanager does, and expires it', async () => {
    const h = await harness({ token: true, silences: true });
    open.push(h.close);
    const body = {
      matchers: [{ name: 'component', value: 'api', isRegex: false, isEqual: true }],
      duration: '2h',
      createdBy: 'ada',
      comment: 'deploying api',
    };
    const post = (payload: object, headers: Record<string, string> = auth) =>
      h.app.inject({ method: 'POST', url: '/api/silences', headers, payload });
    expect((await post(body, {})).statusCode).toBe(401);
    const bad = await post({ ...body, matchers: [{ name: 'component', value: '[', isRegex: true }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'invalid silence', details: ['matchers[0].value: not a valid regular expression'] });
    const made = await post(body);
    expect(made.statusCode).toBe(201);
    const id = made.json().silenceID as number;
    expect((await h.app.inject('/api/silences')).json().silences).toEqual([
      {
        id,
        matchers: body.matchers,
        startsAt: new Date(T0).toISOString(),
        endsAt: new Date(T0 + 2 * 3_600_000).toISOString(),
        createdAt: new Date(T0).toISOString(),
        createdBy: 'ada',
        comment: 'deploying api',
        status: { state: 'active' },
      },
    ]);
    await h.clock.advance(60_000);
    const del = await h.app.inject({ method: 'DELETE', url: `/api/silences/${id}`, headers: auth });
    expect(del.json()).toMatchObject({ id, endsAt: new Date(T0 + 60_000).toISOString(), status: { state: 'expired' } });
    expect((await h.app.inject(`/api/silences/${id}`)).json().status.state).toBe('expired');
    expect((await h.app.inject('/api/silences/999')).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'DELETE', url: '/api/silences/999', headers: auth })).statusCode).toBe(404);
    expect((await h.app.inject('/api/silences/abc')).statusCode).toBe(400);
  });
});
