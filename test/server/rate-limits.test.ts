import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { harness, sample } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

/** A harness (with a token, so the config has a server map) whose `server.rateLimit` is `limits`. */
async function limited(limits: string) {
  const h = await harness({ token: true, yaml: (t) => t.replace('server: {', `server: { rateLimit: ${limits},`) });
  open.push(h.close);
  return h;
}

/** The decisions `limiter` counted so far, from `/metrics`. */
async function decisions(h: Awaited<ReturnType<typeof limited>>, limiter: string) {
  const text = (await h.app.inject('/metrics')).body;
  const of = (decision: string) => sample(text, 'nines_rate_limit_decisions_total', { limiter, decision });
  return { allowed: of('allowed'), rejected: of('rejected') };
}

describe('server.rateLimit', () => {
  it('limits the status page and badges per client: 429 past the limit, another client unaffected, back after the window', async () => {
    const h = await limited('{ reads: { limit: 3, window: 1m } }');
    const get = (url: string, remoteAddress = '127.0.0.1') => h.app.inject({ url, remoteAddress });
    const first = await get('/');
    expect(first.statusCode).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"reads";q=3;w=60');
    // the quota is whole again once this window has slid out too (the clock starts at a minute)
    expect(first.headers.ratelimit).toBe('"reads";r=2;t=120');
    expect((await get('/badge/api/status.svg')).statusCode).toBe(200);
    expect((await get('/feed.xml')).statusCode).toBe(200);
    for (const url of ['/', '/badge/api/uptime.svg', '/api/components']) {
      const refused = await get(url);
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(refused.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
    }
    expect((await get('/', '127.0.0.2')).statusCode).toBe(200);

    // the sliding window: the three requests weigh on the next window, and are gone after it
    await h.clock.advance(60_000);
    expect((await get('/')).statusCode).toBe(429);
    await h.clock.advance(60_000);
    expect((await get('/')).statusCode).toBe(200);
    expect(await decisions(h, 'serve_reads')).toEqual({ allowed: 5, rejected: 4 });
  });

  it('never limits /metrics and the endpoints, nor puts RateLimit fields on them', async () => {
    const h = await limited('{ reads: { limit: 1, window: 1h } }');
    expect((await h.app.inject('/api/components')).statusCode).toBe(200);
    expect((await h.app.inject('/api/components')).statusCode).toBe(429);
    for (let i = 0; i < 3; i++) {
      for (const url of ['/metrics', '/health', '/readyz', '/readiness', '/livez', '/liveness']) {
        const res = await h.app.inject(url);
        expect(res.statusCode, url).not.toBe(429); // /health is 503 before the first checks: no results yet
        expect(res.headers.ratelimit, url).toBeUndefined();
      }
    }
    expect(await decisions(h, 'serve_reads')).toEqual({ allowed: 1, rejected: 1 });
  });

  it('counts every decision per limiter in nines_rate_limit_decisions_total', async () => {
    const h = await limited('{ writes: { limit: 2, window: 1m }, publicWrites: { limit: 1, window: 1h } }');
    // every limiter's series are there, at 0, before any request
    expect(await decisions(h, 'serve_writes')).toEqual({ allowed: 0, rejected: 0 });
    const wrong = { authorization: 'Bearer wrong-token-0123456789' };
    const codes: number[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await h.app.inject({ method: 'POST', url: '/api/components/api/check', headers: wrong })).statusCode);
    expect(codes).toEqual([401, 401, 429]);
    for (let i = 0; i < 2; i++) await h.app.inject({ method: 'POST', url: '/subscribe', payload: { email: 'a@example.com' } });
    expect(await decisions(h, 'serve_writes')).toEqual({ allowed: 2, rejected: 1 });
    expect(await decisions(h, 'serve_public_writes')).toEqual({ allowed: 1, rejected: 1 });
  });

  it('reads X-Forwarded-For only through the proxies trustProxy names', async () => {
    const via = (h: Awaited<ReturnType<typeof limited>>, client: string) =>
      h.app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } });
    const trusting = await limited('{ trustProxy: loopback, reads: { limit: 1, window: 1m } }');
    expect((await via(trusting, '203.0.113.7')).statusCode).toBe(200);
    expect((await via(trusting, '203.0.113.7')).statusCode).toBe(429);
    expect((await via(trusting, '203.0.113.8')).statusCode).toBe(200);
    // IPv6 clients are one client per /56
    expect((await via(trusting, '2001:db8:0:1::1')).statusCode).toBe(200);
    expect((await via(trusting, '2001:db8:0:2::1')).statusCode).toBe(429);

    // not trusted (the default): a client cannot pose as another by writing the header
    const plain = await limited('{ reads: { limit: 1, window: 1m } }');
    expect((await via(plain, '203.0.113.7')).statusCode).toBe(200);
    expect((await via(plain, '203.0.113.8')).statusCode).toBe(429);
  });

  it('turns an allowance off with enabled: false', async () => {
    const h = await limited('{ reads: { enabled: false } }');
    for (let i = 0; i < 700; i++) expect((await h.app.inject('/badge/api/status.svg')).statusCode).toBe(200);
    expect(await decisions(h, 'serve_reads')).toEqual({ allowed: undefined, rejected: undefined }); // no limiter, no series
  });

  it('tells clients apart by their address over a real socket', async () => {
    const h = await limited('{ reads: { limit: 2, window: 1m } }');
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const get = (localAddress: string) =>
      new Promise<{ status: number; ratelimit: string | undefined }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: address.port, path: '/badge/api/status.svg', localAddress }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, ratelimit: res.headers.ratelimit as string | undefined }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('127.0.0.1')).toEqual({ status: 200, ratelimit: '"reads";r=1;t=120' });
    expect((await get('127.0.0.1')).status).toBe(200);
    expect((await get('127.0.0.1')).status).toBe(429);
    expect(await get('127.0.0.2')).toEqual({ status: 200, ratelimit: '"reads";r=1;t=120' });
  });
});

describe('server.rateLimit in the config', () => {
  const problems = (rateLimit: string) => {
    const r = parseConfig(
      `server: { rateLimit: ${rateLimit} }\ncomponents:\n  - { name: a, check: { type: tcp, host: 127.0.0.1, port: 1 } }\n`,
      {
        env: {},
      },
    );
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };

  it('says what is wrong at its path', () => {
    expect(problems('{ writes: { limit: 0 } }')).toEqual(['server.rateLimit.writes.limit: must be at least 1']);
    expect(problems('{ reads: { window: 500ms } }')).toEqual(['server.rateLimit.reads.window: must be at least 1s']);
    expect(problems('{ reads: { window: 2d } }')).toEqual(['server.rateLimit.reads.window: must be at most 1d']);
    expect(problems('{ page: { limit: 5 } }')).toEqual([
      'server.rateLimit.page: unknown key; expected one of trustProxy, writes, publicWrites, reads',
    ]);
    expect(problems('{ publicWrites: { enabled: maybe } }')).toEqual([
      'server.rateLimit.publicWrites.enabled: expected a boolean, got a string',
    ]);
    const hint = 'expected false, true, a number of proxy hops, or addresses and CIDRs (loopback, 10.0.0.0/8)';
    for (const trust of ['10.0.0.0/99', 'lopback', '-1', '1.5', '[]', '{ a: 1 }'])
      expect(problems(`{ trustProxy: ${trust} }`), trust).toEqual([`server.rateLimit.trustProxy: ${hint}`]);
    expect(problems('{ trustProxy: [loopback, 10.0.0.1/40] }')).toEqual([`server.rateLimit.trustProxy[1]: ${hint}`]);
  });

  it('takes trustProxy as a flag, a hop count, a name or a list', () => {
    for (const trust of ['true', '1', 'loopback', '[loopback, 10.0.0.0/8, "fd00::/8"]'])
      expect(problems(`{ trustProxy: ${trust} }`)).toEqual([]);
  });
});
