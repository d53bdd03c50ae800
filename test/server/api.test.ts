import { afterEach, describe, expect, it } from 'vitest';
import { harness, sample, withIncident } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});
async function incident(options: Parameters<typeof withIncident>[0] = {}) {
  const h = await withIncident(options);
  open.push(h.close);
  return h;
}

describe('JSON API', () => {
  it('lists components with status, last check, incident and flapping', async () => {
    const h = await incident();
    const res = await h.app.inject('/api/components');
    expect(res.statusCode).toBe(200);
    const [api, cache] = res.json().components;
    expect(api).toMatchObject({ name: 'api', critical: true, status: 'unhealthy', flapping: false });
    expect(api.lastCheck).toMatchObject({ status: 'unhealthy', durationMs: 3, error: 'api is unhealthy' });
    expect(Date.parse(api.incidentSince)).toBeLessThan(h.clock.now());
    expect(cache).toMatchObject({ name: 'cache', status: 'healthy', incidentSince: null });
  });

  it('gives figures per window, all time and a custom window, with check stats', async () => {
    const h = await incident();
    const res = await h.app.inject('/api/components/api');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body.figures)).toEqual(['1h', '24h', '7d', '30d', 'all']);
    const hour = body.figures['1h'];
    expect(hour.incidentsStarted).toBe(1);
    expect(hour.downtimeSeconds).toBeGreaterThan(0);
    expect(hour.availability).toBeCloseTo(hour.uptimeSeconds / (hour.uptimeSeconds + hour.downtimeSeconds), 12);
    expect(hour.mtbfSeconds).toBe(hour.uptimeSeconds);
    expect(hour.mttrSeconds).toBeNull(); // still open
    expect(hour.checks.total).toBe(hour.checks.healthy + hour.checks.unhealthy);
    expect(hour.checks.total).toBeGreaterThan(600);
    expect(hour.checks.p50Ms).not.toBeNull();
    expect(body.figures.all.unobservedSeconds).toBe(0);
    expect(body.figures.all.availability).toBe(hour.availability);

    const now = h.clock.now();
    const custom = await h.app.inject(`/api/components/api?from=${now - 60_000}&to=${new Date(now).toISOString()}`);
    expect(custom.statusCode).toBe(200);
    expect(custom.json().figures.custom).toMatchObject({ window: 'custom', from: new Date(now - 60_000).toISOString() });
  });

  it('pages through checks, newest first, with a next cursor', async () => {
    const h = await incident();
    const first = (await h.app.inject('/api/components/cache/checks?limit=3')).json();
    expect(first.items).toHaveLength(3);
    expect(first.items[0].timeMs).toBeGreaterThan(first.items[2].timeMs);
    expect(first.next).toEqual(expect.any(String)); // opaque
    const second = (await h.app.inject(`/api/components/cache/checks?limit=3&before=${first.next}`)).json();
    expect(second.items[0].timeMs).toBeLessThan(first.items[2].timeMs);
    // a time still works as `before`, in ms or ISO 8601 (one check a second: no ties here)
    const ms = await h.app.inject(`/api/components/cache/checks?limit=3&before=${first.items[2].timeMs}`);
    expect(ms.json().items).toEqual(second.items);
    const iso = await h.app.inject(`/api/components/cache/checks?limit=3&before=${first.items[2].time}`);
    expect(iso.json().items).toEqual(second.items);
    const all = (await h.app.inject('/api/components/cache/checks?limit=1000')).json();
    expect(all.next).toBeNull();
  });

  it('lists incidents, filtered and paged, and /incidents splits active from recent', async () => {
    const h = await incident();
    h.world.api = 'healthy';
    await h.clock.advance(5_000); // resolves
    h.world.api = 'unhealthy';
    await h.clock.advance(5_000); // a second one, open
    const page1 = (await h.app.inject('/api/incidents?component=api&limit=1')).json();
    expect(page1.items).toHaveLength(1);
    expect(page1.items[0]).toMatchObject({ component: 'api', active: true, end: null });
    expect(page1.next).toBe(page1.items[0].id);
    const page2 = (await h.app.inject(`/api/incidents?component=api&limit=1&before=${page1.next}`)).json();
    expect(page2.items[0]).toMatchObject({ active: false, durationSeconds: 10 }); // from the first failure to the first pass
    expect(page2.next).toBeNull();
    const since = (await h.app.inject(`/api/incidents?since=${page1.items[0].start}`)).json();
    expect(since.items).toHaveLength(1);
    expect((await h.app.inject('/api/incidents?component=cache')).json().items).toEqual([]);
    const board = (await h.app.inject('/incidents')).json();
    expect(board.active.map((i: { id: number }) => i.id)).toEqual([page1.items[0].id]);
    expect(board.recent.map((i: { id: number }) => i.id)).toEqual([page2.items[0].id]);
  });

  it('reports SLOs with budget and burn rates', async () => {
    const h = await incident();
    const [slo] = (await h.app.inject('/api/slos')).json().slos;
    expect(slo).toMatchObject({ name: 'api-slo', component: 'api', objective: 99.9, window: '30d' });
    expect(slo.budget.totalSeconds).toBeCloseTo(0.001 * 30 * 86_400, 6);
    expect(slo.budget.remainingRatio).toBeCloseTo(1 - slo.budget.spentSeconds / slo.budget.totalSeconds, 12);
    expect(slo.burnRate['1h']).toBeGreaterThan(1);
    expect(slo.burnRate['6h']).toBe(slo.burnRate['1h']); // observed for less than an hour
    expect(Object.keys(slo.burnRate)).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
    // the built-in burn alerts, read on the same figures: a condition holds when both its windows exceed its factor
    expect(slo.alerts.map((a: { severity: string }) => a.severity)).toEqual(['page', 'ticket']);
    for (const alert of slo.alerts) {
      for (const c of alert.conditions) {
        expect(c.longBurnRate).toBe(slo.burnRate[c.long]);
        expect(c.shortBurnRate).toBe(slo.burnRate[c.short]);
        expect(c.holds).toBe(c.longBurnRate > c.factor && c.shortBurnRate > c.factor);
      }
      expect(alert.burning).toBe(alert.conditions.some((c: { holds: boolean }) => c.holds));
    }
    expect(slo.alerts[0].conditions.map((c: { factor: number }) => c.factor)).toEqual([14.4, 6]);
  });
});

describe('?at=: figures at a fixed instant', () => {
  it('gives, for a past instant, exactly the figures and SLOs served at that instant', async () => {
    const h = await incident();
    await h.clock.advance(1_234); // an instant with milliseconds
    const t1 = h.clock.now();
    const then = (await h.app.inject('/api/components/api')).json();
    const slosThen = (await h.app.inject('/api/slos')).json();
    expect(then.evaluatedAt).toBe(new Date(t1).toISOString());
    h.world.api = 'healthy'; // the incident resolves after t1, and time runs on
    await h.clock.advance(5 * 60_000);
    const now = (await h.app.inject('/api/components/api')).json();
    expect(now.figures['1h'].availability).not.toBe(then.figures['1h'].availability);

    for (const at of [String(t1), new Date(t1).toISOString()]) {
      const past = (await h.app.inject(`/api/components/api?at=${encodeURIComponent(at)}`)).json();
      expect(past.evaluatedAt).toBe(then.evaluatedAt);
      expect(past.figures).toEqual(then.figures);
      expect((await h.app.inject(`/api/slos?at=${encodeURIComponent(at)}`)).json()).toEqual(slosThen);
    }
    // live fields stay live: status is now, not at t1
    expect((await h.app.inject(`/api/components/api?at=${t1}`)).json().status).toBe('healthy');
  });

  it('ends a custom window at `at`, and takes an instant within a second ahead as now', async () => {
    const h = await incident();
    const now = h.clock.now();
    const custom = (await h.app.inject(`/api/components/api?from=${now - 120_000}&to=${now}&at=${now - 60_000}`)).json();
    expect(custom.figures.custom.to).toBe(new Date(now - 60_000).toISOString());
    const ahead = (await h.app.inject(`/api/components/api?at=${now + 999}`)).json();
    expect(ahead.evaluatedAt).toBe(new Date(now).toISOString());
    const future = await h.app.inject(`/api/components/api?at=${now + 1_001}`);
    expect(future.statusCode).toBe(400);
    expect(future.json().details).toEqual([{ in: 'querystring', path: 'at', message: 'is in the future' }]);
    const empty = await h.app.inject(`/api/components/api?from=${now - 60_000}&at=${now - 60_000}`);
    expect(empty.statusCode).toBe(400);
  });
});

describe('bad input', () => {
  it.each([
    '/api/components/api/checks?limit=-1',
    '/api/components/api/checks?limit=abc',
    '/api/components/api/checks?limit=100000',
    '/api/components/api/checks?before=yesterday',
    '/api/components/api/checks?before=MTczNTY5MDIwNzA4NToxMjE1x',
    '/api/components/api/checks?before=MTIzOmFiYw',
    '/api/incidents?since=notadate',
    '/api/incidents?since=2025-13-45',
    '/api/incidents?before=abc',
    '/api/incidents?limit=0',
    '/api/incidents?component=NOT%20A%20NAME',
    '/api/components/Bad%20Name',
    '/api/components/api?from=abc',
    '/api/components/api?from=2000&to=1000',
    '/api/components/api?at=yesterday',
    '/api/components/api?at=2999-01-01',
    '/api/slos?at=notadate',
    '/api/slos?at=2999-01-01T00:00:00Z',
  ])('%s → 400 JSON', async (url) => {
    const h = await incident();
    const res = await h.app.inject(url);
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json().error).toBe('invalid request');
    expect(res.json().details.length).toBeGreaterThan(0);
  });

  it('answers 404 JSON for an unknown component or route', async () => {
    const h = await harness();
    open.push(h.close);
    for (const url of ['/api/components/nope', '/api/components/nope/checks', '/api/incidents?component=nope', '/nowhere']) {
      const res = await h.app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error, url).toMatch(/not found|unknown component/);
    }
  });

  it('answers 503 with Retry-After while the history store fails, and shows nothing of the failure', async () => {
    const h = await harness();
    open.push(h.close);
    await h.clock.advance(5_000);
    expect((await h.app.inject('/metrics')).body).toMatch(/^nines_availability_ratio\{/m);
    await h.store.close(); // the database is gone from under the running service
    for (const url of ['/api/components/api', '/api/components/api/checks', '/api/incidents', '/api/slos']) {
      const res = await h.app.inject(url);
      expect(res.statusCode, url).toBe(503);
      expect(res.headers['retry-after'], url).toBe('5');
      expect(res.json(), url).toEqual({ error: 'history store unavailable; try again shortly' });
    }
    // what the monitor knows in memory is still served: statuses, and the gauges alerts rest on,
    // figures included (running figures: loaded at start, kept up to date without the store)
    const metrics = await h.app.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(sample(metrics.body, 'nines_component_up', { component: 'api' })).toBe(1);
    expect(metrics.body).toMatch(/^nines_availability_ratio\{/m);
    const page = await h.app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('History is unavailable right now');
    expect(page.body).toMatch(/data-k="h-api">.*?st-healthy/s);
    expect(page.body).not.toContain('class="bars"');
    const component = await h.app.inject('/components/api');
    expect(component.statusCode).toBe(200);
    expect(component.body).toContain('History is unavailable right now');
    expect(component.body).toMatch(/data-k="h-api">.*?st-healthy/s);
    expect(component.body).not.toContain('No incidents recorded');
    const live = await h.app.inject('/api/components');
    expect(live.statusCode).toBe(200);
    expect(live.json().components.map((c: { name: string }) => c.name)).toEqual(['api', 'cache']);
  });

  it('answers 500 JSON without stack or message when anything else fails', async () => {
    const h = await harness({
      store: (s) => Object.assign(Object.create(s), { checks: () => Promise.reject(new Error('db at postgres://u:pw@h failed')) }),
    });
    open.push(h.close);
    const res = await h.app.inject('/api/components/api/checks');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal error' });
  });
});
