/** People on incidents through the API: acknowledge, updates (public or internal), postmortem link; reads show internal updates only with the token. */
import type { InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { type harness, TOKEN, withIncident } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

const AUTH = { authorization: `Bearer ${TOKEN}` };

/** A harness with the token and api's incident open; `send` injects with the token unless told otherwise. */
async function setup(options: Parameters<typeof harness>[0] = {}) {
  const h = await withIncident({ token: true, ...options });
  open.push(h.close);
  const send = (request: InjectOptions & { url: string }, headers: Record<string, string> = AUTH) =>
    h.app.inject({ ...request, headers: { ...headers, ...request.headers } });
  const [incident] = (await h.app.inject('/api/incidents')).json().items;
  return { ...h, send, id: incident.id as number };
}

describe('incident notes through the API', () => {
  it('acknowledges, adds updates and links a postmortem; internal updates only for the token', async () => {
    const h = await setup();
    const ack = await h.send({ method: 'POST', url: `/api/incidents/${h.id}/acknowledge`, payload: { by: 'Ada <ada@example.com>' } });
    expect(ack.statusCode).toBe(200);
    const at = new Date(h.clock.now()).toISOString();
    expect(ack.json()).toMatchObject({ id: h.id, component: 'api', active: true, acknowledged: { at, by: 'Ada <ada@example.com>' } });
    expect(h.monitor.status().find((s) => s.name === 'api')?.acknowledged).toBe(true);
    await h.clock.advance(1000);
    // again, with no body: the first acknowledgement stands
    const again = await h.send({ method: 'POST', url: `/api/incidents/${h.id}/acknowledge` });
    expect(again.statusCode).toBe(200);
    expect(again.json().acknowledged).toEqual({ at, by: 'Ada <ada@example.com>' });

    const post = (payload: Record<string, unknown>) => h.send({ method: 'POST', url: `/api/incidents/${h.id}/updates`, payload });
    const pub = await post({ message: 'We are looking into <errors> on checkout', visibility: 'public', status: 'investigating' });
    expect(pub.statusCode).toBe(201);
    expect(pub.json()).toEqual({
      id: expect.any(Number),
      time: new Date(h.clock.now()).toISOString(),
      visibility: 'public',
      status: 'investigating',
      message: 'We are looking into <errors> on checkout',
      by: null,
    });
    await h.clock.advance(1000);
    expect((await post({ message: 'db-2 replication lag 40 s', visibility: 'internal', by: 'Ada' })).statusCode).toBe(201);
    const pm = await h.send({
      method: 'PUT',
      url: `/api/incidents/${h.id}/postmortem`,
      payload: { url: 'https://Wiki.example.com/pm/42?x=1' },
    });
    expect(pm.statusCode).toBe(200);
    expect(pm.json().postmortem).toBe('https://wiki.example.com/pm/42?x=1');

    const words = (view: { updates: Array<{ message: string }> }) => view.updates.map((u) => u.message);
    for (const url of [`/api/incidents/${h.id}`, '/api/incidents', '/incidents']) {
      const read = async (headers: Record<string, string>) => {
        const body = (await h.app.inject({ url, headers })).json();
        return body.items?.[0] ?? body.active?.[0] ?? body;
      };
      const anonymous = await read({});
      expect(words(anonymous), url).toEqual(['We are looking into <errors> on checkout']);
      expect(anonymous).toMatchObject({ acknowledged: { at }, postmortem: 'https://wiki.example.com/pm/42?x=1' });
      expect(words(await read(AUTH)), url).toEqual(['db-2 replication lag 40 s', 'We are looking into <errors> on checkout']); // newest first
    }
    // a wrong token on a read is refused, never answered with less
    const wrong = await h.app.inject({ url: `/api/incidents/${h.id}`, headers: { authorization: 'Bearer wrong-token-0123456789' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).not.toContain('db-2');
  });

  it('answers 400 for invalid input and 404 for an unknown incident, in JSON, never storing anything', async () => {
    const h = await setup();
    const updates = `/api/incidents/${h.id}/updates`;
    const bad: Array<InjectOptions & { url: string }> = [
      { method: 'POST', url: updates, payload: { visibility: 'public' } },
      { method: 'POST', url: updates, payload: { message: '', visibility: 'public' } },
      { method: 'POST', url: updates, payload: { message: '   ', visibility: 'public' } },
      { method: 'POST', url: updates, payload: { message: 'x'.repeat(5001), visibility: 'public' } },
      { method: 'POST', url: updates, payload: { message: 'x', visibility: 'secret' } },
      { method: 'POST', url: updates, payload: { message: 'x', visibility: 'public', status: 'fixed' } },
      { method: 'POST', url: updates, payload: { message: 'x', visibility: 'public', by: 'y'.repeat(201) } },
      { method: 'POST', url: updates, payload: '{"message":', headers: { 'content-type': 'application/json' } },
      { method: 'POST', url: '/api/incidents/abc/updates', payload: { message: 'x', visibility: 'public' } },
      { method: 'POST', url: '/api/incidents/0/acknowledge' },
      { method: 'POST', url: `/api/incidents/${h.id}/acknowledge`, payload: { by: '' } },
      { method: 'PUT', url: `/api/incidents/${h.id}/postmortem`, payload: {} },
      { method: 'PUT', url: `/api/incidents/${h.id}/postmortem`, payload: { url: 'javascript:alert(1)' } },
      { method: 'PUT', url: `/api/incidents/${h.id}/postmortem`, payload: { url: 'ftp://files.example.com/pm' } },
      { method: 'PUT', url: `/api/incidents/${h.id}/postmortem`, payload: { url: 'not a url' } },
      { method: 'PUT', url: `/api/incidents/${h.id}/postmortem`, payload: { url: 'https://user:hunter2@wiki.example.com/pm' } },
      { method: 'GET', url: '/api/incidents/-1' },
    ];
    for (const request of bad) {
      const res = await h.send(request);
      expect(res.statusCode, `${request.method} ${request.url} ${JSON.stringify(request.payload)}`.slice(0, 120)).toBe(400);
      expect(res.json().error).toBeTypeOf('string');
      expect(res.body).not.toContain('hunter2');
    }
    const unknown: Array<InjectOptions & { url: string }> = [
      { method: 'POST', url: '/api/incidents/999/updates', payload: { message: 'x', visibility: 'public' } },
      { method: 'POST', url: '/api/incidents/999/acknowledge', payload: {} },
      { method: 'PUT', url: '/api/incidents/999/postmortem', payload: { url: 'https://wiki.example.com/pm' } },
      { method: 'GET', url: '/api/incidents/999' },
    ];
    for (const request of unknown) {
      const res = await h.send(request);
      expect(res.statusCode, `${request.method} ${request.url}`).toBe(404);
      expect(res.json()).toEqual({ error: 'unknown incident: 999' });
    }
    const view = (await h.send({ url: `/api/incidents/${h.id}` })).json();
    expect(view).toMatchObject({ acknowledged: null, postmortem: null, updates: [] });
    expect(h.monitor.status().find((s) => s.name === 'api')?.acknowledged).toBe(false);
  });

  it('needs the token for every write: 401 without it or with a wrong one, 403 with none configured', async () => {
    const h = await setup();
    const writes: Array<InjectOptions & { url: string }> = [
      { method: 'POST', url: `/api/incidents/${h.id}/acknowledge`, payload: {} },
      { method: 'POST', url: `/api/incidents/${h.id}/updates`, payload: { message: 'x', visibility: 'public' } },
      { method: 'PUT', url: `/api/incidents/${h.id}/postmortem`, payload: { url: 'https://wiki.example.com/pm' } },
    ];
    for (const request of writes) {
      expect((await h.send(request, {})).statusCode).toBe(401);
      expect((await h.send(request, { authorization: 'Bearer wrong-token-0123456789' })).statusCode).toBe(401);
    }
    expect((await h.send({ url: `/api/incidents/${h.id}` })).json()).toMatchObject({ acknowledged: null, postmortem: null, updates: [] });

    const none = await withIncident();
    open.push(none.close);
    for (const request of writes) expect((await none.app.inject({ ...request, headers: AUTH })).statusCode).toBe(403);
    expect((await none.app.inject({ url: `/api/incidents/${h.id}`, headers: AUTH })).statusCode).toBe(200); // nothing more to show
  });

  it('limits reads that carry a token as writes, and those without as reads', async () => {
    const h = await setup({
      yaml: (t) => t.replace('server: {', 'server: { rateLimit: { writes: { limit: 2, window: 1m }, reads: { limit: 6, window: 1m } },'),
    });
    const url = `/api/incidents/${h.id}`;
    expect((await h.send({ url })).statusCode).toBe(200);
    expect((await h.send({ url }, { authorization: 'Bearer wrong-token-0123456789' })).statusCode).toBe(401);
    expect((await h.send({ url })).statusCode).toBe(429);
    // without a token they spend reads (setup read once), which the token's requests left untouched
    for (let i = 0; i < 5; i++) expect((await h.send({ url }, {})).statusCode).toBe(200);
    expect((await h.send({ url }, {})).statusCode).toBe(429);
  });
});
