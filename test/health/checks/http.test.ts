import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../../../src/health/checks/index.js';
import { listen } from '../../support/http.js';
import {
  abortAfter,
  certificate,
  closedPort,
  DAY,
  hangingServer,
  httpsServer,
  type Settled,
  settle,
  socketsSettled,
  tcpSockets,
} from './support.js';

const timingsOf = (result: Settled) => (result.details?.timings ?? {}) as Record<string, number>;

let baseline: number;
let server: Awaited<ReturnType<typeof listen>>;
let secure: Awaited<ReturnType<typeof httpsServer>>;
let ca: string;

beforeAll(async () => {
  server = await listen((req, res) => {
    if (req.url === '/down') res.statusCode = 503;
    if (req.url === '/auth') return res.end(req.headers.authorization ?? 'none');
    res.end(req.url === '/big' ? 'x'.repeat(2_000_000) : '{"status":"ok"}');
  });
  const pems = await certificate(new Date(Date.now() - DAY), new Date(Date.now() + 90 * DAY));
  ca = pems.cert;
  secure = await httpsServer(pems);
  baseline = tcpSockets();
});

// checked while the servers are up: closing them would also close a socket a check leaked
afterEach(async () => {
  expect(await socketsSettled(baseline)).toBe(baseline);
});

afterAll(async () => {
  await server.close();
  await secure.close();
});

describe('http check', () => {
  it('passes on a 200 and reports the status and each phase', async () => {
    const result = await settle(http(`${server.url}/health`));
    expect(result.status).toBe('healthy');
    expect(result.details?.statusCode).toBe(200);
    const timings = timingsOf(result);
    expect(Object.keys(timings)).toEqual(['dns', 'connect', 'firstByte', 'total']);
    expect(timings.dns).toBe(0); // an IP address needs no lookup
    for (const ms of Object.values(timings)) expect(ms).toBeGreaterThanOrEqual(0);
    expect(timings.total).toBeGreaterThanOrEqual((timings.connect ?? 0) + (timings.firstByte ?? 0));
  });

  it('times DNS when the URL has a hostname', async () => {
    const result = await settle(http(server.url.replace('127.0.0.1', 'localhost')));
    expect(result.status).toBe('healthy');
    expect(timingsOf(result).dns).toBeGreaterThan(0);
  });

  it('times the TLS handshake over https (trusting a private CA through `tls`)', async () => {
    const result = await settle(http(`https://localhost:${secure.port}/`, { tls: { ca } }));
    expect(result.error).toBeUndefined();
    const timings = timingsOf(result);
    expect(Object.keys(timings)).toEqual(['dns', 'connect', 'tls', 'firstByte', 'total']);
    expect(timings.tls).toBeGreaterThan(0);
  });

  it('rejects an untrusted certificate by default', async () => {
    const result = await settle(http(`https://127.0.0.1:${secure.port}/`));
    expect(result.status).toBe('unhealthy');
    expect(result.error).toMatch(/self-signed certificate/);
  });

  it('is unhealthy on an unexpected status, saying which', async () => {
    const result = await settle(http(`${server.url}/down`));
    expect(result).toMatchObject({ status: 'unhealthy', error: 'expected status 200, got 503', details: { statusCode: 503 } });
    expect((await settle(http(`${server.url}/down`, { expectStatus: [200, 204] }))).error).toBe('expected status 200 or 204, got 503');
    expect((await settle(http(`${server.url}/down`, { expectStatus: (s) => s < 500 }))).error).toBe('status 503 rejected by expectStatus');
    expect((await settle(http(`${server.url}/down`, { expectStatus: 503 }))).status).toBe('healthy');
  });

  it('checks the body for a substring or a RegExp', async () => {
    expect((await settle(http(server.url, { expectBody: '"ok"' }))).status).toBe('healthy');
    expect((await settle(http(server.url, { expectBody: /"status":\s*"ok"/g }))).status).toBe('healthy');
    const missing = await settle(http(server.url, { expectBody: 'pass' }));
    expect(missing).toMatchObject({ status: 'unhealthy', error: 'response body does not contain "pass"' });
    expect((await settle(http(server.url, { expectBody: /^pass$/ }))).error).toBe('response body does not match /^pass$/');
  });

  it('reads at most 1 MiB of the body', async () => {
    const result = await settle(http(`${server.url}/big`, { expectBody: 'y' }));
    expect(result.error).toBe('response body does not contain "y"');
  });

  it('sends the URL credentials as basic auth, and never shows the password', async () => {
    const url = new URL(`${server.url}/auth`);
    url.username = 'user';
    url.password = 'hunter22';
    const result = await settle(http(url, { expectBody: `Basic ${Buffer.from('user:hunter22').toString('base64')}` }));
    expect(result.status).toBe('healthy');
  });

  it('fails with the connect error on a closed port', async () => {
    const port = await closedPort();
    const result = await settle(http(`http://127.0.0.1:${port}/`));
    expect(result.status).toBe('unhealthy');
    expect(result.error).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('fails with a readable message on a closed port behind a two-address name', async () => {
    const port = await closedPort();
    const result = await settle(http(`http://localhost:${port}/`));
    expect(result.error).toMatch(new RegExp(`ECONNREFUSED (127\\.0\\.0\\.1|::1):${port}`));
  });

  it('fails on an unknown host', async () => {
    const result = await settle(http('http://nonexistent.invalid/'));
    expect(result.error).toMatch(/ENOTFOUND nonexistent\.invalid/);
  });

  it('stops when the signal aborts while the server hangs', async () => {
    const hung = await hangingServer();
    try {
      const result = await abortAfter(http(`http://127.0.0.1:${hung.port}/`), 100);
      expect(result.status).toBe('unhealthy');
      expect(result.error).toMatch(/aborted/i);
    } finally {
      await hung.close();
    }
  });

  it('sends through a given dispatcher, timing what it can', async () => {
    const agent = new Agent();
    try {
      const result = await settle(http(server.url, { dispatcher: agent }));
      expect(result.status).toBe('healthy');
      expect(Object.keys(timingsOf(result))).toEqual(['firstByte', 'total']);
    } finally {
      await agent.close();
    }
  });

  it('validates its options at construction', () => {
    expect(() => http('ftp://example.com')).toThrow(/^url must be an http: or https: URL/);
    expect(() => http('http://u:hunter22@[bad')).toThrow(TypeError);
    expect(() => http('nonsense://u:hunter22@x')).not.toThrow(/hunter22/);
    expect(() => http(server.url, { expectStatus: 42 })).toThrow(/^expectStatus must be/);
    expect(() => http(server.url, { expectStatus: [] })).toThrow(/^expectStatus must be/);
    expect(() => http(server.url, { expectBody: 42 as unknown as string })).toThrow(/^expectBody must be/);
    expect(() => http(server.url, { method: '' })).toThrow(/^method must be/);
    expect(() => http(server.url, { headers: 'x' as unknown as Record<string, string> })).toThrow(/^headers must be/);
    expect(() => http(server.url, { dispatcher: {} as Agent })).toThrow(/^dispatcher must be/);
  });
});
