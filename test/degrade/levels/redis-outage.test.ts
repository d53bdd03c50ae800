/**
 * The test: a redis-server of the test's own, stopped by its PID, moves the level to
 * `degraded` at the first health result after the stop, and back to `full` at the first one after
 * it returns; a feature with minimum `full` turns off and on with it. Real check, real registry on
 * its interval, real clock: the bound is counted in health results, not in milliseconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagSet } from '../../../src/degrade/flags/index.js';
import { type DegradationChange, DegradationManager } from '../../../src/degrade/levels/index.js';
import { redis } from '../../../src/health/checks/redis.js';
import { healthHandler } from '../../../src/health/endpoints.js';
import { HealthCheckRegistry } from '../../../src/health/registry.js';
import type { HealthStatus } from '../../../src/health/types.js';
import { until } from '../../support/e2e.js';
import { listen } from '../../support/http.js';
import { hasRedisServer, ownRedisServer } from '../../support/redis-server.js';

const canStart = hasRedisServer();

describe.skipIf(!canStart)('degradation follows a Redis stopped by its PID', () => {
  let server: Awaited<ReturnType<typeof ownRedisServer>>;
  beforeAll(async () => {
    server = await ownRedisServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('degraded within one health interval of the stop, full again within one of the restart', async () => {
    const health = new HealthCheckRegistry({ interval: 100 });
    // degradedAfter far above any run on a busy machine: a slow PING must not read as an outage's end
    health.register('redis', redis(server.url, { connectTimeout: 2000 }), { timeout: 5000, degradedAfter: 60_000 });
    const manager = new DegradationManager({ rules: [{ when: { check: 'redis', status: 'unhealthy' }, level: 'degraded' }], health });
    const recommendations = manager.feature('full'); // a feature that needs the full service
    const flags = new FlagSet({ level: manager.current, flags: { widget: { enabled: true, minLevel: 'full' } } }); // and a flag
    const changes: DegradationChange[] = [];
    manager.on('change', (c) => changes.push(c));
    // the manager subscribed first, so each entry holds the level as that result left it
    const seen: Array<{ time: number; status: HealthStatus; level: string; on: boolean; flag: boolean }> = [];
    health.on('result', (r) =>
      seen.push({ time: r.time, status: r.status, level: manager.level, on: recommendations(), flag: flags.isEnabled('widget') }),
    );
    const handler = healthHandler(health, { degradation: manager });
    const http = await listen(handler);
    const doc = async () => JSON.parse(await (await fetch(`${http.url}/health`)).text());
    try {
      health.start();
      await until('a healthy result', async () => (seen.some((s) => s.status === 'healthy') ? true : undefined));
      expect([manager.level, recommendations(), flags.isEnabled('widget')]).toEqual(['full', true, true]);

      await server.stop();
      const stoppedAt = Date.now();
      const down = await until('a run started after the stop', async () => seen.find((s) => s.time > stoppedAt));
      expect(down).toMatchObject({ status: 'unhealthy', level: 'degraded', on: false, flag: false });
      expect(manager.reason).toBe('check redis is unhealthy');
      expect((await doc()).degradation).toMatchObject({ level: 'degraded', reason: 'check redis is unhealthy', source: 'rules' });

      await server.restart();
      const restartedAt = Date.now();
      const back = await until('a run started after the restart', async () => seen.find((s) => s.time > restartedAt));
      expect(back).toMatchObject({ status: 'healthy', level: 'full', on: true, flag: true });
      expect((await doc()).degradation).toMatchObject({ level: 'full', reason: 'no rule matches' });
      expect(changes.map((c) => [c.from, c.to, c.source])).toEqual([
        ['full', 'degraded', 'rules'],
        ['degraded', 'full', 'rules'],
      ]);
    } finally {
      health.stop();
      manager.close();
      handler.close();
      await http.close();
    }
  });
});
