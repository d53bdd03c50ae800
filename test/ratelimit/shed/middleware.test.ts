import type { IncomingMessage } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadShedMetrics } from '../../../src/metrics/index.js';
import { loadShedHandler, type Priority, shedResponse } from '../../../src/ratelimit/shed/index.js';
import { FRAMEWORKS, serveGate } from '../frameworks.js';
import { newShedder } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const BODY = '{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"The server is overloaded; retry after 1 s."}';
const priority = (req: IncomingMessage) => (req.headers['x-priority'] as Priority | undefined) ?? 'normal';

/** Status, the headers a shed answer must carry, and the body, of GET `url` with priority `p`. */
async function ask(url: string, p: Priority) {
  const res = await fetch(url, { headers: { 'x-priority': p } });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    retryAfter: res.headers.get('retry-after'),
    cacheControl: res.headers.get('cache-control'),
    length: res.headers.get('content-length'),
    body: await res.text(),
  };
}

const shed = {
  status: 503,
  type: 'application/problem+json',
  retryAfter: '1',
  cacheControl: 'no-store',
  length: String(BODY.length),
  body: BODY,
};

/** Held open by the `/slow` route of every app until the test resolves it. */
let slow = Promise.withResolvers<void>();
let slowArrived = false;
const slowRoute = async () => {
  slowArrived = true;
  await slow.promise;
  return 'slow';
};

const routes = { '/': () => 'ok', '/slow': slowRoute };

describe.each(FRAMEWORKS)('loadShedHandler on %s', (name) => {
  const start = (h: ReturnType<typeof loadShedHandler>) => serveGate(name, h, routes, cleanups);

  it('sheds low priority before high, answering 503 with Retry-After and a problem+json body, exactly', async () => {
    const { shedder, loop } = newShedder();
    const url = await start(loadShedHandler(shedder, { priority }));
    loop.delayMs = 60; // over low's 50 ms, under normal's 100
    expect(await ask(url, 'low')).toEqual(shed);
    expect(await ask(url, 'normal')).toMatchObject({ status: 200, body: 'ok' });
    loop.delayMs = 150; // over normal's, under high's 200
    expect((await ask(url, 'normal')).status).toBe(503);
    expect(await ask(url, 'high')).toMatchObject({ status: 200, body: 'ok' });
    loop.delayMs = 1e6;
    expect((await ask(url, 'high')).status).toBe(503);
    expect(await ask(url, 'critical')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('counts an admitted request in flight until its response closes', async () => {
    slow = Promise.withResolvers<void>();
    slowArrived = false;
    const { shedder } = newShedder({ maxInFlight: 1 });
    const url = await start(loadShedHandler(shedder));
    const pending = fetch(`${url}/slow`);
    await vi.waitFor(() => expect(slowArrived).toBe(true));
    expect(shedder.inFlight).toBe(1);
    expect((await fetch(url)).status).toBe(503);
    slow.resolve();
    expect(await (await pending).text()).toBe('slow');
    await vi.waitFor(() => expect(shedder.inFlight).toBe(0));
    expect((await fetch(url)).status).toBe(200);
  });
});

describe('shedResponse', () => {
  it('rounds Retry-After up to whole seconds and says so in the body', () => {
    const r = shedResponse(2500);
    expect(r.headers['retry-after']).toBe('3');
    expect(JSON.parse(r.body)).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The server is overloaded; retry after 3 s.',
    });
  });
});

describe('loadShedMetrics', () => {
  it('counts decisions by priority and reason, and shows the state and the delay limit', async () => {
    const registry = new Registry();
    const { shedder, loop, run } = newShedder({ name: 'api', metrics: loadShedMetrics(registry) });
    shedder.admit('high');
    loop.delayMs = 60;
    shedder.admit('low');
    await run(100, false);
    const text = await registry.metrics();
    expect(text).toContain('nines_load_shed_decisions_total{shedder="api",priority="high",decision="admitted",reason="none"} 1');
    expect(text).toContain('nines_load_shed_decisions_total{shedder="api",priority="low",decision="shed",reason="event_loop_delay"} 1');
    expect(text).toContain('nines_load_shed_overloaded{shedder="api"} 1');
    expect(text).toContain('nines_load_shed_delay_limit_seconds{shedder="api"} 0.02');
  });
});
