import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { type RateLimitHandlerOptions, rateLimitHandler } from '../../../src/ratelimit/http/middleware.js';
import { type Decision, MemoryStore, RateLimiter, type RateLimitStoreFactory, rateLimiter } from '../../../src/ratelimit/index.js';
import { listen } from '../../support/http.js';
import { FRAMEWORKS, serveGate } from '../frameworks.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A fixed window of 3 per minute on a manual clock, served by `framework`. */
async function served(framework: string, options: RateLimitHandlerOptions = {}, random = () => 0) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const limiter = rateLimiter({ algorithm: 'fixed-window', limit: 3, windowDuration: 60_000, clock });
  const original = Math.random;
  Math.random = random;
  cleanups.push(() => {
    Math.random = original;
  });
  const base = await serveGate(framework, rateLimitHandler(limiter, options), { '/': () => 'ok' }, cleanups);
  const get = async (headers: Record<string, string> = {}, method = 'GET') => {
    const res = await fetch(`${base}/`, { headers, method });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };
  return { clock, get };
}

describe.each(FRAMEWORKS)('rateLimitHandler on %s', (framework) => {
  it('sends the IETF fields of draft-10 on every answer, and 429 with Retry-After and a problem body past the limit', async () => {
    const { clock, get } = await served(framework);
    await clock.advance(15_000); // 45 s left in the window
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.body).toBe('ok');
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=3;w=60');
    expect(first.headers.get('ratelimit')).toBe('"default";r=2;t=45');
    expect(first.headers.get('x-ratelimit-limit')).toBeNull();
    await get();
    expect((await get()).headers.get('ratelimit')).toBe('"default";r=0;t=45');
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('45'); // never earlier than the window's end; no jitter drawn
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.headers.get('ratelimit')).toBe('"default";r=0;t=45');
    expect(JSON.parse(refused.body)).toEqual({
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      detail: 'the rate limit for this client is exhausted',
      retryAfter: 45,
    });
    await clock.advance(45_000);
    expect((await get()).status).toBe(200);
  });

  it('adds jitter only after the limit, sends legacy headers when asked, and lets skipped and allowed clients through uncounted', async () => {
    const { get } = await served(
      framework,
      {
        legacyHeaders: true,
        jitterSeconds: 5,
        trustProxy: 'loopback',
        allow: ['198.51.100.7'],
        skip: (req) => req.headers['x-probe'] === '1',
      },
      () => 0.999,
    );
    const client = { 'x-forwarded-for': '203.0.113.9' };
    const first = await get(client);
    expect([
      first.headers.get('x-ratelimit-limit'),
      first.headers.get('x-ratelimit-remaining'),
      first.headers.get('x-ratelimit-reset'),
    ]).toEqual(['3', '2', '60']);
    for (let i = 0; i < 5; i++) expect((await get({ ...client, 'x-probe': '1' })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await get({ 'x-forwarded-for': '198.51.100.7' })).status).toBe(200);
    await get(client);
    await get(client);
    const refused = await get(client);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('65'); // 60 s to the window's end, plus 5 of jitter
    // another client, and an IPv6 one grouped with its /56 neighbour
    expect((await get({ 'x-forwarded-for': '203.0.113.10' })).status).toBe(200);
    for (let i = 0; i < 3; i++) await get({ 'x-forwarded-for': '2001:db8:1:100::1' });
    expect((await get({ 'x-forwarded-for': '2001:db8:1:1ff::2' })).status).toBe(429);
  });

  it('hands a bad cost to the error handler instead of charging the client', async () => {
    const { get } = await served(framework, { cost: () => 4 });
    expect((await get()).status).toBe(500);
  });
});

describe('rateLimitHandler on a store that answers with promises (the Redis store will)', () => {
  it('waits for the decision, and lets the request through when the store fails', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    let failing = false;
    const store: RateLimitStoreFactory<Promise<Decision>> = (spec) => {
      const memory = new MemoryStore(spec);
      return {
        sync: false,
        consume: async (key, cost) => {
          if (failing) throw new Error('store down');
          return memory.consume(key, cost);
        },
        adjust: async (key, points) => memory.adjust(key, points),
        get: async (key) => memory.get(key),
        delete: async (key) => memory.delete(key),
      };
    };
    const limiter = new RateLimiter({ algorithm: 'fixed-window', limit: 1, windowDuration: 60_000, clock, store });
    const h = rateLimitHandler(limiter, { jitterSeconds: 0 });
    const s = await listen((req, res) => h(req, res, () => res.end('ok')));
    cleanups.push(s.close);
    expect((await fetch(s.url)).status).toBe(200);
    expect((await fetch(s.url)).status).toBe(429);
    failing = true;
    const through = await fetch(s.url);
    expect(through.status).toBe(200);
    expect(through.headers.get('ratelimit')).toBeNull(); // nothing is known: nothing is claimed
  });
});

describe('rateLimitHandler.onRequest (Fastify, one route)', () => {
  it('limits only the routes that name it', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const limiter = rateLimiter({ algorithm: 'fixed-window', limit: 1, windowDuration: 60_000, clock });
    const { onRequest } = rateLimitHandler(limiter, { policy: 'writes', jitterSeconds: 0 });
    const app = Fastify();
    app.post('/write', { onRequest }, async () => 'written');
    app.get('/read', async () => 'read');
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const first = await fetch(`${base}/write`, { method: 'POST' });
    expect([first.status, await first.text(), first.headers.get('ratelimit')]).toEqual([200, 'written', '"writes";r=0;t=60']);
    const refused = await fetch(`${base}/write`, { method: 'POST' });
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '60']);
    for (let i = 0; i < 3; i++) {
      const read = await fetch(`${base}/read`);
      expect([read.status, read.headers.get('ratelimit')]).toEqual([200, null]);
    }
  });
});
