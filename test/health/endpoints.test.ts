import type { RequestListener } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { healthHandler } from '../../src/health/endpoints.js';
import { HealthCheckRegistry } from '../../src/health/registry.js';
import { healthMetrics } from '../../src/metrics/index.js';
import { ManualClock } from '../../src/policy/index.js';
import { listen } from '../support/http.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A registry whose checks fail while the flags say so, served by healthHandler on loopback. */
async function serve(options: Parameters<typeof healthHandler>[1] = {}, registryOptions = {}) {
  const state = { db: true, cache: true };
  const registry = new HealthCheckRegistry(registryOptions)
    .register(
      'db',
      () => {
        if (!state.db) throw new Error('ECONNREFUSED 127.0.0.1:5432');
        return { details: { roundTripMs: 1 } };
      },
      { critical: true, liveness: true },
    )
    .register('cache', () => {
      if (!state.cache) throw new Error('timeout');
    });
  const handler = healthHandler(registry, options);
  const server = await listen(handler);
  cleanups.push(server.close, handler.close);
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(server.url + path, { headers });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  return { state, registry, handler, get, url: server.url };
}

describe('probes over HTTP', () => {
  it('/health speaks IETF health+json: pass, warn, fail and the checks map', async () => {
    const { state, get } = await serve({ service: { serviceId: 'api', version: '1.2.3' } });
    let r = await get('/health');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/health+json');
    const body = JSON.parse(r.text);
    expect(body).toMatchObject({ status: 'pass', serviceId: 'api', version: '1.2.3' });
    expect(body.checks['db:responseTime'][0]).toMatchObject({
      componentId: 'db',
      status: 'pass',
      observedUnit: 'ms',
      critical: true,
      details: { roundTripMs: 1 },
    });
    expect(Date.parse(body.checks['db:responseTime'][0].time)).not.toBeNaN();

    state.cache = false;
    r = await get('/health');
    expect([r.status, JSON.parse(r.text).status]).toEqual([200, 'warn']);
    expect(JSON.parse(r.text).checks['cache:responseTime'][0]).toMatchObject({ status: 'fail', output: 'timeout', critical: false });

    state.db = false;
    r = await get('/health');
    expect([r.status, JSON.parse(r.text).status]).toEqual([503, 'fail']);
  });

  it('/health shows a degradation level when one is given, without changing its status', async () => {
    const degradation = { level: 'degraded', reason: 'check cache is unhealthy', source: 'rules', since: Date.UTC(2025, 0, 2) };
    const { get } = await serve({ degradation });
    let body = JSON.parse((await get('/health')).text);
    expect(body.status).toBe('pass');
    expect(body.degradation).toEqual({
      level: 'degraded',
      reason: 'check cache is unhealthy',
      source: 'rules',
      since: '2025-01-02T00:00:00.000Z',
    });
    degradation.level = 'maintenance'; // read on every request
    body = JSON.parse((await get('/health')).text);
    expect([body.status, body.degradation.level]).toEqual(['pass', 'maintenance']);
    expect(JSON.parse((await (await serve()).get('/health')).text)).not.toHaveProperty('degradation');
  });

  it('readiness fails only on a critical check (or shutdown); verbose lists each check', async () => {
    const { state, get } = await serve();
    expect(await get('/readiness')).toMatchObject({ status: 200, text: 'ok' });
    state.cache = false;
    expect((await get('/readyz')).status).toBe(200);
    state.db = false;
    const r = await get('/readyz?verbose');
    expect(r.status).toBe(503);
    expect(r.text).toBe(
      ['[-]db unhealthy: ECONNREFUSED 127.0.0.1:5432', '[+]cache unhealthy: timeout (not critical)', 'readiness check failed'].join('\n'),
    );
  });

  it('readiness goes false as soon as shutdown begins', async () => {
    const shutdown = { shuttingDown: false };
    const { get } = await serve({ shutdown });
    expect((await get('/readiness')).status).toBe(200);
    shutdown.shuttingDown = true;
    expect(await get('/readiness')).toMatchObject({ status: 503, text: 'shutting down' });
    expect((await get('/liveness')).status).toBe(200); // draining is not dying
  });

  it('liveness ignores a database outage until it outlasts livenessGrace', async () => {
    const clock = new ManualClock();
    const { state, registry, get } = await serve({ livenessGrace: 300_000 }, { clock });
    state.db = false;
    await registry.runAll();
    expect(await get('/livez')).toMatchObject({ status: 200, text: 'ok' });
    await clock.advance(300_000);
    await registry.runAll();
    const r = await get('/livez?verbose');
    expect(r.status).toBe(503);
    expect(r.text).toContain('[-]db unhealthy for longer than 300000 ms');
  });

  it('liveness fails after the event loop was blocked past maxEventLoopDelay', async () => {
    // a limit ordinary scheduling on a busy machine stays under, so only the test's own block crosses it
    const { get } = await serve({ maxEventLoopDelay: 300 });
    await get('/livez'); // resets the window
    const until = Date.now() + 500;
    while (Date.now() < until) {
      // block the loop
    }
    await new Promise((r) => setTimeout(r, 30));
    const r = await get('/livez');
    expect(r.status).toBe(503);
    expect(r.text).toMatch(/event loop blocked for \d+ ms/);
    expect((await get('/livez')).status).toBe(200); // one probe per stall
  });

  it('answers from the latest results in background mode, so a slow check never piles up requests', async () => {
    let runs = 0;
    const registry = new HealthCheckRegistry({ interval: 60_000 }).register(
      'slow',
      async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 50));
      },
      { critical: true },
    );
    registry.start();
    cleanups.push(() => registry.stop());
    const handler = healthHandler(registry);
    const server = await listen(handler);
    cleanups.push(server.close, handler.close);
    const first = await fetch(`${server.url}/readiness`);
    expect(first.status).toBe(503); // the first run of a critical check has not finished: not ready yet
    await new Promise((r) => setTimeout(r, 80));
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${server.url}/readiness`).then((r) => r.status)));
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(runs).toBe(1);
  });

  it('/metrics serves the prom-client registry as text, or JSON on request; 404 when not configured', async () => {
    const prom = new Registry();
    const { registry, get } = await serve({ metrics: prom }, { metrics: healthMetrics(prom) });
    await registry.runAll();
    const text = await get('/metrics');
    expect(text.status).toBe(200);
    expect(text.type).toContain('text/plain');
    expect(text.text).toContain('nines_component_up{component="db"} 1');
    const json = await get('/metrics', { accept: 'application/json' });
    expect(JSON.parse(json.text).map((m: { name: string }) => m.name)).toContain('nines_health_checks_total');
    const { get: bare } = await serve();
    expect(await bare('/metrics')).toMatchObject({ status: 404 });
  });

  it('unknown paths get 404 JSON, other methods 405, HEAD no body', async () => {
    const { get, url } = await serve();
    expect(await get('/nope')).toMatchObject({ status: 404, text: '{"error":"not found"}' });
    const post = await fetch(`${url}/readiness`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const head = await fetch(`${url}/readiness`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });
});

describe('probes in frameworks', () => {
  const registry = () => new HealthCheckRegistry().register('db', () => undefined, { critical: true });

  it('works as Express middleware and passes other paths on', async () => {
    const handler = healthHandler(registry(), { prefix: '/_system' });
    const app = express();
    app.use(handler);
    app.get('/hello', (_req, res) => {
      res.send('world');
    });
    const server = await listen(app as unknown as RequestListener);
    cleanups.push(server.close, handler.close);
    expect(await (await fetch(`${server.url}/_system/readyz`)).text()).toBe('ok');
    expect(await (await fetch(`${server.url}/hello`)).text()).toBe('world');
    expect((await fetch(`${server.url}/readyz`)).status).toBe(404);
  });

  it('works as a Fastify plugin', async () => {
    const handler = healthHandler(registry());
    const app = Fastify();
    await app.register(handler.fastify);
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close(), handler.close);
    const address = app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${address.port}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/health\+json/);
    expect(JSON.parse(await res.text()).status).toBe('pass');
    expect((await fetch(`http://127.0.0.1:${address.port}/livez?verbose`)).status).toBe(200);
  });
});
