/**
 * Redis failing under a Redis-backed limiter: stopped by its PID (a redis-server of the test's
 * own), and stalled (a proxy that swallows everything). Every decision is answered, by insurance
 * within the breaker's threshold, with no unhandled rejection, and Redis decides again once back.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, ManualClock } from '../../../src/index.js';
import { type Decision, RateLimiter, redisStore } from '../../../src/ratelimit/index.js';
import { until } from '../../support/e2e.js';
import { hasRedisServer, ownRedisServer } from '../../support/redis-server.js';
import { hasRedis, redisUrl, uniqueName } from '../../support/services.js';
import { tcpProxy } from '../../support/tcp-proxy.js';

const canStart = hasRedisServer();
const available = await hasRedis();

/** Counts unhandled rejections while a test runs. */
function watchRejections() {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  return { seen, stop: () => process.off('unhandledRejection', listener) };
}

/**
 * Spends once on `key` until Redis holds it (the decision came from Redis, not insurance);
 * `before` runs ahead of each try (to move a breaker's clock past its open time).
 */
async function untilRedisDecides(
  limiter: RateLimiter<Promise<Decision>>,
  client: Redis,
  key: string,
  before: () => unknown = () => undefined,
): Promise<void> {
  await until('Redis to decide again', async () => {
    await before();
    await limiter.consume(key);
    return (await client.exists(`${limiter.name}-p:${limiter.name}:{${key}}`)) === 1 ? true : undefined;
  });
}

describe.skipIf(!canStart)('Redis stopped mid-run', () => {
  let server: Awaited<ReturnType<typeof ownRedisServer>>;
  beforeAll(async () => {
    server = await ownRedisServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('insurance answers at once, Redis is tried at most the breaker’s threshold, and is used again after a restart', async () => {
    const rejections = watchRejections();
    const client = new Redis(server.url); // ioredis' defaults: reconnects for ever, queues while disconnected
    const clientErrors: unknown[] = [];
    client.on('error', (e) => clientErrors.push(e));
    const failures: unknown[] = [];
    const name = uniqueName('stop');
    const limiter = new RateLimiter({
      name,
      limit: 100,
      windowDuration: 60_000,
      store: redisStore(client, {
        prefix: `${name}-p`,
        insurance: { expectedInstances: 4, breaker: { failureThreshold: 3, openDuration: 100 }, onError: (e) => failures.push(e) },
      }),
    });
    try {
      await untilRedisDecides(limiter, client, 'warm');
      failures.length = 0; // a slow first call on a busy machine is not what this test counts
      await server.stop(); // by PID
      await until('the client to see Redis gone', async () => (client.status === 'ready' ? undefined : true));

      const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('k')));
      for (let i = 0; i < 20; i++) decisions.push(await limiter.consume('k'));
      expect(decisions.filter((d) => d.allowed).length).toBe(25); // floor(100 / 4) in this process
      expect(failures.length).toBeLessThanOrEqual(3);

      await server.restart();
      await until('the client to reconnect', async () => (client.status === 'ready' ? true : undefined));
      await untilRedisDecides(limiter, client, 'after');
      expect((await limiter.get('after')).remaining).toBeLessThan(100);
      expect(rejections.seen).toEqual([]);
    } finally {
      rejections.stop();
      client.disconnect();
    }
  });
});

describe.skipIf(!available)('Redis stalled (every byte swallowed)', () => {
  it('the breaker opens after exactly its threshold of timeouts; no call reaches Redis until it probes again', async () => {
    const rejections = watchRejections();
    const proxy = await tcpProxy(Number(new URL(redisUrl).port || 6379), new URL(redisUrl).hostname);
    const client = new Redis({ host: '127.0.0.1', port: proxy.port });
    client.on('error', () => {}); // the resets the proxy makes
    const breakerClock = new ManualClock(0);
    const breaker = new CircuitBreaker({ failureThreshold: 3, openDuration: 1000, successThreshold: 1, clock: breakerClock });
    const failures: unknown[] = [];
    const name = uniqueName('stall');
    const limiter = new RateLimiter({
      name,
      limit: 10,
      windowDuration: 60_000,
      store: redisStore(client, { prefix: `${name}-p`, insurance: { timeout: 100, breaker, onError: (e) => failures.push(e) } }),
    });
    try {
      await untilRedisDecides(limiter, client, 'warm');
      failures.length = 0; // a slow first call on a busy machine is not what this test counts
      proxy.set('blackhole');
      const decisions: Decision[] = [];
      for (let i = 0; i < 12; i++) decisions.push(await limiter.consume('k'));
      expect(failures.map((e) => (e as { code?: string }).code)).toEqual(['NINES_TIMEOUT', 'NINES_TIMEOUT', 'NINES_TIMEOUT']);
      expect(breaker.state).toBe('open');
      expect(decisions.filter((d) => d.allowed).length).toBe(10); // the memory insurance, whole limit (1 instance)

      proxy.set('refuse'); // resets the stalled connection; the client reconnects through the proxy
      proxy.set('pass');
      await until('the client to reconnect', async () => (client.status === 'ready' ? true : undefined));
      // a probe slower than the timeout on a busy machine fails and opens the breaker again: so move on and retry
      await untilRedisDecides(limiter, client, 'after', () => breakerClock.advance(1000));
      await until('the breaker to close', async () => {
        await breakerClock.advance(1000);
        await limiter.consume('after');
        return breaker.state === 'closed' ? true : undefined;
      });
      expect(rejections.seen).toEqual([]);
    } finally {
      rejections.stop();
      client.disconnect();
      await proxy.close();
    }
  });
});
