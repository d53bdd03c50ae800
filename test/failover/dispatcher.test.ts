import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { FailoverDispatcher, type FailoverDispatcherOptions, type ProbeOutcome } from '../../src/failover/index.js';
import { createMetricsRegistry, upstreamMetrics } from '../../src/metrics/index.js';
import { freePort } from '../support/e2e.js';
import { listen } from '../support/http.js';

type Mode = 'ok' | '503' | 'hang' | '500' | 'drain';

interface Upstream {
  url: string;
  mode: Mode;
  hits: number;
  lastHost?: string;
  lastBody?: string;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstream(name: string, mode: Mode = 'ok'): Promise<Upstream> {
  const u: Upstream = { url: '', mode, hits: 0, close: async () => {} };
  const hung: ServerResponse[] = [];
  const s = await listen((req: IncomingMessage, res: ServerResponse) => {
    u.hits++;
    u.lastHost = req.headers.host;
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      u.lastBody = body;
      if (req.url === '/readiness') {
        u.hits--; // probes are not requests
        res.writeHead(u.mode === 'drain' || u.mode === '503' ? 503 : 200).end();
        return;
      }
      if (u.mode === 'hang') {
        hung.push(res);
        return;
      }
      if (u.mode === '503') res.writeHead(503, { 'retry-after': String(req.headers['x-retry-after'] ?? '0') }).end('unavailable');
      else if (u.mode === '500') res.writeHead(500).end('boom');
      else res.end(name);
    });
  });
  u.url = s.url;
  u.close = async () => {
    for (const r of hung) r.destroy();
    await s.close();
  };
  cleanups.push(() => u.close());
  return u;
}

/** An origin nobody listens on: connections are refused. */
async function deadPort(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

/** Advances `clock` in steps until `done` settles, letting the real probes' I/O run between steps. */
async function driveUntil<T>(clock: ManualClock, done: Promise<T>): Promise<T> {
  let settled = false;
  const watched = done.finally(() => {
    settled = true;
  });
  for (let i = 0; i < 400 && !settled; i++) {
    await clock.advance(250);
    await new Promise((r) => setTimeout(r, 5)); // real I/O of the probe; no time is asserted
  }
  return watched;
}

/** A server answering `revived` on the port of `origin` (which must be free). */
async function revive(origin: string): Promise<{ hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/readiness') hits++;
    res.end('revived');
  });
  await new Promise<void>((r) => server.listen(Number(new URL(origin).port), '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { hits: () => hits };
}

function dispatcher(options: FailoverDispatcherOptions): FailoverDispatcher {
  const d = new FailoverDispatcher(options);
  cleanups.push(() => d.destroy());
  return d;
}

async function get(d: FailoverDispatcher, path = '/', init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await request(`http://api${path}`, {
    dispatcher: d,
    method: (init.method ?? 'GET') as 'GET',
    headers: init.headers,
    body: init.body,
  });
  return { status: res.statusCode, body: await res.body.text() };
}

async function many(d: FailoverDispatcher, n: number, init?: Parameters<typeof get>[2]) {
  const out: Array<{ status: number; body: string }> = [];
  for (let i = 0; i < n; i++) out.push(await get(d, '/', init));
  return out;
}

describe('FailoverDispatcher', () => {
  it('spreads requests over the tier and sends the logical host', async () => {
    const [a, b, c] = await Promise.all([upstream('a'), upstream('b'), upstream('c')]);
    const d = dispatcher({ tiers: [[a.url, b.url, c.url]], balancer: 'round-robin' });
    const bodies = (await many(d, 6)).map((r) => r.body);
    expect(bodies.sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect(a.lastHost).toBe('api');
    // fetch takes it as its dispatcher too
    const res = await fetch('http://api/x', { dispatcher: d } as RequestInit);
    expect(await res.text()).toMatch(/^[abc]$/);
  });

  it('a refused host costs no request: every method is retried elsewhere, and it is ejected after 5 failures', async () => {
    const [a, b] = await Promise.all([upstream('a'), upstream('b')]);
    const dead = await deadPort();
    const ejected: string[] = [];
    const d = dispatcher({ tiers: [[a.url, b.url, dead]], balancer: 'round-robin' });
    d.on('eject' as never, ((e: { origin: string }) => ejected.push(e.origin)) as never);
    const results = await many(d, 30, { method: 'POST', body: 'x' });
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(ejected).toEqual([dead]);
    expect(d.endpoints().find((e) => e.origin === dead)?.outlier).toBe('ejected');
    expect(a.lastBody).toBe('x');
  });

  it('a 503 is retried on another host for GET and with an Idempotency-Key, not for a plain POST', async () => {
    const [a, b] = await Promise.all([upstream('a', '503'), upstream('b')]);
    const d = dispatcher({ tiers: [[a.url, b.url]], balancer: 'round-robin', outlier: false });
    const gets = await many(d, 4);
    expect(gets.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const posts = await many(d, 4, { method: 'POST', body: 'p' });
    expect(posts.map((r) => r.status).sort()).toEqual([200, 200, 503, 503]);
    const keyed = await many(d, 4, { method: 'POST', body: 'p', headers: { 'idempotency-key': 'k1' } });
    expect(keyed.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('a Retry-After beyond the deadline passes the 503 through instead of waiting', async () => {
    const [a] = await Promise.all([upstream('a', '503')]);
    const b = await upstream('b', '503');
    const d = dispatcher({ tiers: [[a.url, b.url]], retry: { deadlineMs: 1_000 }, outlier: false });
    const r = await get(d, '/', { headers: { 'x-retry-after': '5' } });
    expect(r.status).toBe(503);
    expect(a.hits + b.hits).toBe(1);
  });

  it('a host that accepts and never answers is left after the per-try timeout (GET)', async () => {
    const [a, b] = await Promise.all([upstream('a', 'hang'), upstream('b')]);
    const d = dispatcher({ tiers: [[a.url, b.url]], balancer: 'round-robin', retry: { perTryTimeoutMs: 50 } });
    const results = await many(d, 4);
    expect(results.map((r) => r.body)).toEqual(['b', 'b', 'b', 'b']);
    expect(a.hits).toBeGreaterThan(0);
  });

  it('the backup tier takes all traffic when no primary is healthy, and none before', async () => {
    const [p1, p2, backup] = await Promise.all([upstream('p1'), upstream('p2'), upstream('backup')]);
    const d = dispatcher({ tiers: [[p1.url, p2.url], [backup.url]], mode: 'backup' });
    expect((await many(d, 10)).every((r) => r.body !== 'backup')).toBe(true);
    expect(d.load().loads).toEqual([100, 0]);
    await p1.close();
    await p2.close();
    const after = await many(d, 10);
    expect(after.every((r) => r.status === 200)).toBe(true);
    expect(after.slice(-5).every((r) => r.body === 'backup')).toBe(true);
  });

  it('with panic disabled and no routable host it fails fast with NINES_NO_HEALTHY_UPSTREAM', async () => {
    const a = await upstream('a');
    const d = dispatcher({ tiers: [[{ origin: a.url, draining: true }]], panicThreshold: 0 });
    await expect(get(d)).rejects.toMatchObject({ code: 'NINES_NO_HEALTHY_UPSTREAM' });
    expect(a.hits).toBe(0);
  });

  it('with the retry budget spent the failure reaches the caller; a request that never reached its host is retried outside it', async () => {
    const [a, b] = await Promise.all([upstream('a', '503'), upstream('b')]);
    const d = dispatcher({
      tiers: [[a.url, b.url]],
      balancer: 'round-robin',
      outlier: false,
      retry: { budgetPercent: 0, minRetryConcurrency: 0 },
    });
    expect((await many(d, 4)).map((r) => r.status).sort()).toEqual([200, 200, 503, 503]); // the 503s could not be retried
    const dead = await deadPort();
    const e = dispatcher({
      tiers: [[dead, b.url]],
      balancer: 'round-robin',
      outlier: false,
      retry: { budgetPercent: 0, minRetryConcurrency: 0 },
    });
    expect((await many(e, 4)).map((r) => r.body)).toEqual(['b', 'b', 'b', 'b']); // refused: retried all the same
  });

  it('requests to another origin go to the fallback dispatcher untouched', async () => {
    const a = await upstream('a');
    const other = await upstream('other');
    const fallback = new Agent();
    cleanups.push(() => fallback.close());
    const d = dispatcher({ tiers: [[a.url]], origin: 'http://api', fallback });
    expect((await get(d)).body).toBe('a');
    const res = await request(`${other.url}/`, { dispatcher: d });
    expect(await res.body.text()).toBe('other');
  });

  it('reports nines_upstream_* metrics: outcomes, ejections, endpoint state, retries, tier load', async () => {
    const [a, b] = await Promise.all([upstream('a'), upstream('b')]);
    const dead = await deadPort();
    const registry = createMetricsRegistry();
    const d = dispatcher({ tiers: [[a.url, b.url, dead]], balancer: 'round-robin', name: 'api', metrics: upstreamMetrics(registry) });
    await many(d, 20);
    const text = await registry.metrics();
    expect(text).toContain('nines_upstream_requests_total{upstream="api",outcome="success"} 20');
    expect(text).toContain(`nines_upstream_ejections_total{upstream="api",endpoint="${dead}",reason="consecutive-gateway-failures"} 1`);
    expect(text).toContain(`nines_upstream_endpoint_ejected{upstream="api",endpoint="${dead}"} 1`);
    expect(text).toContain(`nines_upstream_endpoint_up{upstream="api",endpoint="${a.url}"} 1`);
    expect(text).toContain('nines_upstream_retries_total{upstream="api",reason="connect"} 5');
    expect(text).toContain('nines_upstream_tier_load_percent{upstream="api",tier="0"} 100');
    expect(text).toContain('nines_upstream_request_duration_seconds_count{upstream="api"} 20');
  });

  it('active checks: an endpoint whose readiness answers 503 (draining) leaves rotation at its first probe', async () => {
    const [a, b] = await Promise.all([upstream('a', 'drain'), upstream('b')]);
    const clock = new ManualClock(0);
    // random 0.99: the first probes at 990 ms, their timeouts (500 ms) beyond the clock's reach
    const d = dispatcher({
      tiers: [[a.url, b.url]],
      balancer: 'round-robin',
      clock,
      random: () => 0.99,
      healthCheck: { intervalMs: 1_000, fastIntervalMs: 1_000 },
    });
    const health = once(d as never, 'health');
    await clock.advance(1_000); // the probes run; the clock stays put until they answer
    expect(await health).toEqual([{ origin: a.url, tier: 0, up: false, reason: 'drain' }]);
    expect((await many(d, 6)).map((r) => r.body)).toEqual(['b', 'b', 'b', 'b', 'b', 'b']);
    expect(d.endpoints().map((e) => [e.origin, e.up])).toEqual([
      [a.url, false],
      [b.url, true],
    ]);
  });

  it('active checks: a refused connection counts as a failed check, so a dead host leaves rotation at once and rises when it listens again', async () => {
    const b = await upstream('b');
    const dead = await deadPort();
    const clock = new ManualClock(0);
    // probe timeouts (30 s) far beyond each step, so a slow machine never times a probe out
    const healthCheck = { intervalMs: 60_000, timeoutMs: 30_000, fastIntervalMs: 500, downIntervalMs: 500 };
    const d = dispatcher({ tiers: [[dead, b.url]], balancer: 'round-robin', clock, random: () => 0, healthCheck });
    const down = once(d as never, 'health');
    expect((await many(d, 6)).map((r) => r.body)).toEqual(['b', 'b', 'b', 'b', 'b', 'b']);
    expect(await down).toEqual([{ origin: dead, tier: 0, up: false, reason: 'fall' }]);
    expect(d.endpoints().find((e) => e.origin === dead)).toMatchObject({ up: false, outlier: 'healthy' }); // one refusal, no ejection needed
    const revived = await revive(dead);
    const [health] = await driveUntil(clock, once(d as never, 'health'));
    expect(health).toEqual({ origin: dead, tier: 0, up: true, reason: 'rise' });
    expect((await many(d, 4)).map((r) => r.body)).toEqual(['revived', 'b', 'revived', 'b']);
    expect(revived.hits()).toBe(2);
  });

  it('active checks: a connection broken off mid-request takes its host out until its check, run at once, says whether it still answers', async () => {
    const b = await upstream('b');
    let reset = true;
    let aHits = 0;
    const a = await listen((req, res) => {
      if (req.url === '/readiness') return void res.end();
      aHits++;
      if (reset)
        req.socket.destroy(); // what a killed host's kept-alive connections do
      else res.end('a');
    });
    cleanups.push(a.close);
    const clock = new ManualClock(0);
    const answers: Array<(o: ProbeOutcome) => void> = []; // a's checks, answered by the test
    const probe = (origin: string) =>
      origin === a.url ? new Promise<ProbeOutcome>((r) => answers.push(r)) : Promise.resolve({ status: 200 });
    // random 0.99: the scheduled probes come at 59.4 s, beyond the clock's reach
    const healthCheck = { intervalMs: 60_000, timeoutMs: 30_000, fastIntervalMs: 500, probe };
    const d = dispatcher({ tiers: [[a.url, b.url]], balancer: 'round-robin', clock, random: () => 0.99, healthCheck });
    await clock.advance(1_000);
    const bodies = async (n: number) => (await many(d, n)).map((r) => r.body);
    expect(await bodies(2)).toEqual(['b', 'b']); // a's reset is retried on b
    expect(aHits).toBe(1);
    expect(await bodies(6)).toEqual(Array(6).fill('b')); // no request for a while its check is due ...
    await clock.advance(0);
    expect(answers).toHaveLength(1);
    expect(await bodies(2)).toEqual(['b', 'b']); // ... or on its way
    expect(aHits).toBe(1);
    reset = false;
    answers[0]?.({ status: 200 }); // it answers: back at once
    await clock.advance(0);
    expect((await bodies(4)).sort()).toEqual(['a', 'a', 'b', 'b']);
    reset = true;
    const down = once(d as never, 'health');
    expect(await bodies(2)).toEqual(['b', 'b']);
    await clock.advance(500); // a fast interval after the last check
    answers[1]?.({ error: new Error('connect ECONNREFUSED') });
    expect(await down).toEqual([{ origin: a.url, tier: 0, up: false, reason: 'fall' }]); // one failure after a reset: down
    expect(await bodies(4)).toEqual(Array(4).fill('b'));
    expect(aHits).toBe(4);
  });

  it('active checks: an ejected host whose check fails and then passes is unejected at once, not after its ejection time', async () => {
    const b = await upstream('b');
    const c = await upstream('c', '500'); // fails its requests
    const clock = new ManualClock(0);
    let readiness = 200; // what c's check sees: a probe of our own, so the clock drives it alone
    const probe = async (origin: string) => ({ status: origin === c.url ? readiness : 200 });
    const healthCheck = { intervalMs: 1_000, fastIntervalMs: 500, downIntervalMs: 500, probe };
    const d = dispatcher({ tiers: [[c.url, b.url]], balancer: 'round-robin', clock, random: () => 0, healthCheck });
    const ejected = once(d as never, 'eject');
    await many(d, 10); // five 500s from c
    expect(await ejected).toEqual([{ origin: c.url, tier: 0, reason: 'consecutive-failures' }]);
    await clock.advance(5_000); // passing checks alone do not end the ejection: c's readiness was fine all along
    expect(d.endpoints().find((e) => e.origin === c.url)?.outlier).toBe('ejected');
    readiness = 503; // its check fails (a restart, a drain) ...
    await clock.advance(1_100);
    expect(d.endpoints().find((e) => e.origin === c.url)).toMatchObject({ up: false, outlier: 'ejected' });
    readiness = 200; // ... and passes again: it came back
    const unejected = once(d as never, 'uneject');
    await clock.advance(600);
    expect(await unejected).toEqual([{ origin: c.url, tier: 0 }]);
    expect(clock.now()).toBe(6_700); // not 30 s: the passing probe cut the ejection short
    expect(d.endpoints().find((e) => e.origin === c.url)?.outlier).toBe('slow-start');
  });

  it('names every invalid option', () => {
    expect(() => new FailoverDispatcher({ tiers: [] })).toThrow(/tiers/);
    expect(() => new FailoverDispatcher({ tiers: [['ftp://x']] })).toThrow(/tiers\[0\]\.endpoints\[0\] must use http/);
    expect(() => new FailoverDispatcher({ tiers: [['http://a:1']], retry: { maxAttempts: 0 } })).toThrow(/retry\.maxAttempts/);
  });
});
