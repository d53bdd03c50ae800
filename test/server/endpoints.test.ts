import { afterEach, describe, expect, it } from 'vitest';
import { harness } from './harness.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});
async function setup(start = true) {
  const h = await harness({ start });
  open.push(h.close);
  return h;
}

describe('/health', () => {
  it('is IETF health+json, one check per component keyed name:responseTime, 200 when passing', async () => {
    const h = await setup();
    await h.clock.advance(5_000);
    const res = await h.app.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/health\+json/);
    const body = res.json();
    expect(body.status).toBe('pass');
    expect(Object.keys(body.checks)).toEqual(['api:responseTime', 'cache:responseTime']);
    expect(body.checks['api:responseTime'][0]).toMatchObject({
      componentId: 'api',
      status: 'pass',
      critical: true,
      observedValue: 3,
      observedUnit: 'ms',
    });
    expect(body.checks['cache:responseTime'][0].critical).toBe(false);
  });

  it('warns when a non-critical component is down, fails with 503 when a critical one is, and before any result', async () => {
    const h = await setup(false);
    expect((await h.app.inject('/health')).statusCode).toBe(503); // no component yet: nothing proves health
    await h.monitor.start();
    expect((await h.app.inject('/health')).json().status).toBe('fail'); // no results yet
    await h.clock.advance(2_000);
    h.world.cache = 'unhealthy';
    await h.clock.advance(2_000);
    const warn = await h.app.inject('/health');
    expect(warn.statusCode).toBe(200);
    expect(warn.json().status).toBe('warn');
    h.world.api = 'unhealthy';
    await h.clock.advance(1_000);
    const fail = await h.app.inject('/health');
    expect(fail.statusCode).toBe(503);
    expect(fail.json().checks['api:responseTime'][0].status).toBe('fail');
  });

  it('carries the error as output', async () => {
    const h = await harness({
      start: false,
    });
    open.push(h.close);
    await h.monitor.start();
    h.world.api = 'degraded';
    await h.clock.advance(1_000);
    const body = (await h.app.inject('/health')).json();
    expect(body.status).toBe('warn');
    expect(body.checks['api:responseTime'][0]).toMatchObject({ status: 'warn', output: 'api is degraded' });
  });
});

describe('readiness and liveness', () => {
  it('is ready only with results, the critical component up and no shutdown', async () => {
    const h = await setup();
    for (const url of ['/readiness', '/readyz']) expect((await h.app.inject(url)).statusCode).toBe(503); // no result yet
    await h.clock.advance(2_000);
    for (const url of ['/readiness', '/readyz']) {
      const res = await h.app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('ok');
    }
    h.world.cache = 'unhealthy';
    await h.clock.advance(1_000);
    expect((await h.app.inject('/readyz')).statusCode).toBe(200); // not critical
    h.world.api = 'unhealthy';
    await h.clock.advance(1_000);
    const down = await h.app.inject('/readyz?verbose');
    expect(down.statusCode).toBe(503);
    expect(down.body.split('\n')).toEqual([
      '[-]api unhealthy: api is unhealthy',
      '[+]cache unhealthy: cache is unhealthy (not critical)',
      'readiness check failed',
    ]);
    h.world.api = 'healthy';
    await h.clock.advance(1_000);
    expect((await h.app.inject('/readiness')).statusCode).toBe(200);
    h.shutdown.shuttingDown = true;
    const shutting = await h.app.inject('/readiness');
    expect(shutting.statusCode).toBe(503);
    expect(shutting.body).toBe('shutting down');
    expect((await h.app.inject('/readiness?verbose')).body).toContain('[-]shutdown in progress');
  });

  it('is not ready while the HA leases are not renewed in time, whatever the components say', async () => {
    const ha = { ready: true };
    const h = await harness({ ha });
    open.push(h.close);
    await h.clock.advance(2_000);
    expect((await h.app.inject('/readiness')).statusCode).toBe(200);
    ha.ready = false;
    const res = await h.app.inject('/readiness');
    expect(res.statusCode).toBe(503);
    expect(res.body).toBe('ha: leases not renewed');
    const verbose = await h.app.inject('/readyz?verbose');
    expect(verbose.statusCode).toBe(503);
    expect(verbose.body.split('\n').slice(-2)).toEqual(['[-]ha: leases not renewed within renewDeadline', 'readiness check failed']);
    expect((await h.app.inject('/livez')).statusCode).toBe(200); // alive: a restart would not renew them sooner
    ha.ready = true;
    expect((await h.app.inject('/readiness')).statusCode).toBe(200);
  });

  it('is alive whatever the components do', async () => {
    const h = await setup();
    h.world.api = 'unhealthy';
    await h.clock.advance(5_000);
    h.shutdown.shuttingDown = true;
    for (const url of ['/liveness', '/livez']) {
      const res = await h.app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('ok');
    }
    expect((await h.app.inject('/livez?verbose')).body).toContain('liveness check passed');
  });

  it('fails when a schedule is stuck, and passes again once results flow', async () => {
    const h = await setup();
    await h.clock.advance(2_000);
    h.world.cache = 'stuck';
    // The next run sticks within 1 s; its last result is then at most 3 s old, under 3 intervals + a timeout (3.5 s).
    await h.clock.advance(2_000);
    expect((await h.app.inject('/liveness')).body).toBe('ok');
    await h.clock.advance(2_000); // now at least 4 s

    const res = await h.app.inject('/livez?verbose');
    expect(res.statusCode).toBe(503);
    expect(res.body).toBe('[-]cache has had no result for three intervals (schedule stuck)\nliveness check failed');
    h.world.cache = 'healthy';
    h.release();
    await h.clock.advance(1_000);
    expect((await h.app.inject('/liveness')).statusCode).toBe(200);
  });

  it('fails after the event loop was blocked longer than the limit, once', async () => {
    // a limit ordinary scheduling on a busy machine stays under, so only the test's own block crosses it
    const h = await harness({ liveness: { maxEventLoopDelay: 300 } });
    open.push(h.close);
    await h.app.ready(); // the sampler starts with the routes
    await new Promise((r) => setTimeout(r, 30)); // and ticks
    const until = performance.now() + 500;
    while (performance.now() < until); // a real 500 ms block
    const blocked = await h.app.inject('/liveness');
    expect(blocked.statusCode).toBe(503);
    expect(blocked.body).toMatch(/^event loop blocked for \d+ ms$/);
    await new Promise((r) => setTimeout(r, 30)); // the sampler ticks again
    expect((await h.app.inject('/liveness')).statusCode).toBe(200); // a new window
  });
});
