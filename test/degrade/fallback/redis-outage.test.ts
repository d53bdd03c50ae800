/**
 * Redis stopped by its PID under a Redis-backed cachedFallback (a redis-server of the test's own):
 * the memory copy answers, the origin fills what it lacks, nothing rejects unhandled, and values
 * reach Redis again once it is back.
 */
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { cachedFallback, redisCacheStore } from '../../../src/degrade/fallback/index.js';
import { until } from '../../support/e2e.js';
import { hasRedisServer, ownRedisServer } from '../../support/redis-server.js';
import { uniqueName } from '../../support/services.js';
import { clockAtStart, origin, watchRejections } from './helpers.js';

const canStart = hasRedisServer();
const MIN = 60_000;

describe.skipIf(!canStart)('cachedFallback, Redis stopped mid-run', () => {
  let server: Awaited<ReturnType<typeof ownRedisServer>>;
  beforeAll(async () => {
    server = await ownRedisServer();
    return () => server.close();
  });

  it('answers from the memory copy and the origin while Redis is down, and writes to Redis again after a restart', async () => {
    const rejections = watchRejections();
    const client = new Redis(server.url); // ioredis' defaults: reconnects for ever, queues while disconnected
    client.on('error', () => undefined);
    const clock = clockAtStart();
    const name = uniqueName('outage');
    const prefix = `${name}-p`;
    const errors: unknown[] = [];
    const cache = cachedFallback<string>({
      name,
      ttl: 10 * MIN,
      staleIfError: 60 * MIN,
      clock,
      store: redisCacheStore(client, { prefix, breaker: { failureThreshold: 3, openDuration: 1000 } }),
      onError: (e) => errors.push(e),
    });
    const inRedis = async (key: string) => (await client.exists(`${prefix}:v:${name}:${key}`)) === 1;
    try {
      const o = origin('v');
      expect((await cache.get('a', o.fn)).source).toBe('fresh');
      expect(await inRedis('a')).toBe(true);

      await server.stop(); // by PID
      await until('the client to see Redis gone', async () => (client.status === 'ready' ? undefined : true));
      expect(await cache.get('a', o.fn)).toMatchObject({ value: 'v', source: 'cache' }); // the memory copy
      expect(o.calls).toBe(1);
      expect(await cache.get('b', o.fn)).toMatchObject({ value: 'v', source: 'fresh' });
      await clock.advance(10 * MIN);
      o.fail();
      expect(await cache.get('a', o.fn)).toMatchObject({ value: 'v', source: 'stale', ageMs: 10 * MIN });
      await expect(cache.get('never', o.fn)).rejects.toThrow('origin down');

      await server.restart();
      await until('the client to reconnect', async () => (client.status === 'ready' ? true : undefined));
      o.answer('after');
      await until('a value to reach Redis again', async () => {
        await clock.advance(1000); // past the breaker's open time, should it have opened
        await cache.delete('c');
        await cache.get('c', o.fn);
        return (await inRedis('c')) ? true : undefined;
      });
      expect(rejections.seen).toEqual([]);
    } finally {
      rejections.stop();
      client.disconnect();
    }
  });
});
