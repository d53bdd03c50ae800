import { afterEach, describe, expect, it } from 'vitest';
import { harness, sample, TOKEN, withIncident } from './harness.js';

const open: Array<() => Promise<void>> = [];

/** Clock ms of `nines_figures_evaluated_timestamp_seconds` in a scrape. */
const evaluatedAt = (text: string) => Math.round(Number(/^nines_figures_evaluated_timestamp_seconds (\S+)$/m.exec(text)?.[1]) * 1000);
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

describe('/metrics', () => {
  it('shows the monitor gauges, refreshed at scrape time, with the numbers of the API', async () => {
    const h = await withIncident();
    open.push(h.close);
    const res = await h.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(sample(text, 'nines_component_up', { component: 'api' })).toBe(0);
    expect(sample(text, 'nines_component_up', { component: 'cache' })).toBe(1);
    expect(sample(text, 'nines_incidents_active', { component: 'api' })).toBe(1);
    expect(sample(text, 'nines_incidents_active', { component: 'cache' })).toBe(0);

    const { figures } = (await h.app.inject('/api/components/api')).json();
    for (const window of ['1h', '24h', '7d', '30d']) {
      expect(sample(text, 'nines_availability_ratio', { component: 'api', window })).toBe(figures[window].availability);
    }
    expect(figures['1h'].availability).toBeLessThan(1);
    const [slo] = (await h.app.inject('/api/slos')).json().slos;
    expect(sample(text, 'nines_error_budget_remaining_ratio', { slo: 'api-slo' })).toBe(slo.budget.remainingRatio);
    expect(sample(text, 'nines_slo_burn_rate', { slo: 'api-slo', window: '1h' })).toBe(slo.burnRate['1h']);
    expect(sample(text, 'nines_slo_burn_rate', { slo: 'api-slo', window: '6h' })).toBe(slo.burnRate['6h']);

    // the scrape's instant, to the ms: the API at `?at=` that instant gives the same figures, even later
    const at = evaluatedAt(text);
    expect(at).toBe(h.clock.now());
    h.world.api = 'healthy';
    await h.clock.advance(3_000);
    const past = (await h.app.inject(`/api/components/api?at=${at}`)).json();
    for (const window of ['1h', '24h', '7d', '30d'])
      expect(past.figures[window].availability).toBe(sample(text, 'nines_availability_ratio', { component: 'api', window }));
    const later = (await h.app.inject('/metrics')).body;
    expect(evaluatedAt(later)).toBe(at + 3_000);
    expect(sample(later, 'nines_component_up', { component: 'api' })).toBe(1);
    expect(sample(later, 'nines_incidents_active', { component: 'api' })).toBe(0);
  });

  it('answers JSON with Accept: application/json', async () => {
    const h = await withIncident();
    open.push(h.close);
    const res = await h.app.inject({ url: '/metrics', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    const names = (res.json() as Array<{ name: string }>).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['nines_component_up', 'nines_availability_ratio', 'nines_slo_burn_rate']));
  });
});

describe('POST /api/components/:name/check', () => {
  it('is forbidden with a JSON reason when no token is configured', async () => {
    const h = await harness();
    open.push(h.close);
    const res = await h.app.inject({ method: 'POST', url: '/api/components/api/check', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatch(/server\.token/);
    expect(h.runs).toEqual([]);
  });

  it('wants the bearer token: 401 when missing or wrong, 200 and a run when right', async () => {
    const h = await harness({ token: true });
    open.push(h.close);
    const post = (authorization?: string) =>
      h.app.inject({ method: 'POST', url: '/api/components/api/check', headers: authorization ? { authorization } : {} });
    for (const auth of [
      undefined,
      'Bearer',
      `Basic ${TOKEN}`,
      'Bearer wrong-token-0123456789',
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
    ]) {
      const res = await post(auth);
      expect(res.statusCode, String(auth)).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).not.toContain(TOKEN);
    }
    expect(h.runs).toEqual([]);
    h.world.api = 'degraded';
    const ok = await post(`Bearer ${TOKEN}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().result).toMatchObject({ status: 'degraded', durationMs: 3, error: 'api is degraded' });
    expect(ok.body).not.toContain(TOKEN);
    expect(h.runs).toEqual(['api']);
    expect(h.monitor.status().find((c) => c.name === 'api')?.status).toBe('degraded');
    const missing = await h.app.inject({
      method: 'POST',
      url: '/api/components/nope/check',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('is rate limited per client before the token is looked at: 429 with Retry-After, RateLimit fields and a JSON body', async () => {
    const h = await harness({
      token: true,
      yaml: (t) => t.replace('server: {', 'server: { rateLimit: { writes: { limit: 3, window: 1m } },'),
    });
    open.push(h.close);
    const post = (authorization: string, remoteAddress = '127.0.0.1') =>
      h.app.inject({ method: 'POST', url: '/api/components/api/check', headers: { authorization }, remoteAddress });
    const first = await post('Bearer wrong-token-0123456789');
    expect(first.statusCode).toBe(401);
    expect(first.headers['ratelimit-policy']).toBe('"writes";q=3;w=60');
    expect(first.headers.ratelimit).toBe('"writes";r=2;t=120');
    expect((await post(`Bearer ${TOKEN}`)).statusCode).toBe(200);
    expect((await post('Bearer wrong-token-0123456789')).statusCode).toBe(401);
    for (const auth of [`Bearer ${TOKEN}`, 'Bearer wrong-token-0123456789']) {
      const limited = await post(auth);
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.headers.ratelimit).toMatch(/^"writes";r=0;t=\d+$/);
      expect(limited.headers['content-type']).toBe('application/problem+json');
      expect(limited.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
      expect(limited.body).not.toContain(TOKEN);
    }
    expect(h.runs).toEqual(['api']);
    // another address has its own allowance; reads spend another
    expect((await post(`Bearer ${TOKEN}`, '127.0.0.2')).statusCode).toBe(200);
    expect((await h.app.inject('/api/components')).statusCode).toBe(200);
  });
});

describe('over a real socket', () => {
  it('serves probes, the API and metrics on a listening port', async () => {
    const h = await withIncident({ token: true });
    open.push(h.close);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const base = `http://127.0.0.1:${address.port}`;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).toBe('fail');
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const components = (await (await fetch(`${base}/api/components`)).json()) as { components: unknown[] };
    expect(components.components).toHaveLength(2);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('nines_incidents_active{component="api"} 1');
    const bad = await fetch(`${base}/api/incidents?limit=abc`);
    expect(bad.status).toBe(400);
    const run = await fetch(`${base}/api/components/cache/check`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(run.status).toBe(200);
  });
});
