import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../../src/core/clock.js';
import {
  type CachedFallbackOptions,
  cachedFallback,
  type RedisCacheStoreOptions,
  redisCacheStore,
} from '../../../src/degrade/fallback/index.js';
import { InvalidOptionError } from '../../../src/policy/index.js';
import { freePort, until as waitFor } from '../../support/e2e.js';
import { hasRedis, redisUrl, uniqueName } from '../../support/services.js';
import { clockAtStart, gatedOrigin, origin, watchRejections } from './helpers.js';

const available = await hasRedis();
const MIN = 60_000;

describe.skipIf(!available)('cachedFallback on Redis', () => {
  const prefix = uniqueName('fb');
  const client = new Redis(redisUrl, { lazyConnect: true });
  beforeAll(async () => {
    await client.connect();
    return async () => {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    };
  });

  let n = 0;
  /** `count` fallbacks sharing one name and prefix, as `count` processes would, each with its own memory copy; one manual clock. */
  function processes(count: number, options: Partial<CachedFallbackOptions> = {}, store: RedisCacheStoreOptions = {}) {
    const clock = clockAtStart();
    const name = `f${n++}`;
    const errors: unknown[] = [];
    const caches = Array.from({ length: count }, () =>
      cachedFallback<{ name: string }>({
        name,
        ttl: MIN,
        clock,
        store: redisCacheStore(client, { prefix, ...store }),
        onError: (e) => errors.push(e),
        ...options,
      }),
    );
    return { clock: clock as ManualClock, caches, name, errors };
  }

  it('keeps each value as JSON with its fetched-at time, expiring with the retention', async () => {
    const { caches, name, clock } = processes(1, { staleIfError: 10 * MIN });
    await caches[0]?.get('user:1', async () => ({ name: 'alice' }));
    const key = `${prefix}:v:${name}:user:1`;
    expect(JSON.parse((await client.get(key)) as string)).toEqual({ t: clock.now(), v: { name: 'alice' } });
    const pttl = await client.pttl(key);
    expect(pttl).toBeGreaterThan(10 * MIN);
    expect(pttl).toBeLessThanOrEqual(11 * MIN);
  });

  it('a value fetched by one process is answered from Redis by another', async () => {
    const { caches } = processes(2);
    const [a, b] = caches;
    await a?.get('k', async () => ({ name: 'from a' }));
    const o = origin({ name: 'from b' });
    expect(await b?.get('k', o.fn)).toMatchObject({ value: { name: 'from a' }, source: 'cache' });
    expect(o.calls).toBe(0);
  });

  it('stale-if-error: 100 concurrent callers of a failing origin get the stale value from Redis, after one origin call', async () => {
    const { caches, clock } = processes(2, { staleIfError: 10 * MIN });
    const [writer, reader] = caches;
    await writer?.get('k', async () => ({ name: 'last good' }));
    await clock.advance(2 * MIN);
    const failing = gatedOrigin<{ name: string }>();
    const calls = Array.from({ length: 100 }, () => reader?.get('k', failing.fn));
    await until(() => failing.calls > 0);
    expect(reader?.refreshing).toBe(1);
    failing.fail(new Error('origin down'));
    const answers = await Promise.all(calls);
    expect(failing.calls).toBe(1);
    for (const a of answers) expect(a).toMatchObject({ value: { name: 'last good' }, source: 'stale', ageMs: 2 * MIN });
  });

  it('stale-while-revalidate across 4 processes: 100 callers, one background refresh, which every process then reads', async () => {
    const { caches, clock, name } = processes(4, { staleWhileRevalidate: MIN });
    await caches[0]?.get('k', async () => ({ name: 'v1' }));
    await clock.advance(MIN + 1);
    const refresh = gatedOrigin<{ name: string }>();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => caches[i % 4]?.get('k', refresh.fn)));
    for (const a of answers) expect(a).toMatchObject({ value: { name: 'v1' }, source: 'stale' });
    await until(() => refresh.calls > 0 && caches.filter((c) => c.refreshing === 0).length === 3); // 3 lost the lock
    expect(refresh.calls).toBe(1);
    expect(await client.exists(`${prefix}:lock:${name}:k`)).toBe(1);
    refresh.open({ name: 'v2' });
    await Promise.all(caches.map((c) => c.whenIdle()));
    expect(await client.exists(`${prefix}:lock:${name}:k`)).toBe(0); // given back
    for (const c of caches) expect(await c.get('k', refresh.fn)).toMatchObject({ value: { name: 'v2' }, source: 'cache' });
    expect(refresh.calls).toBe(1);
  });

  it('lockDuration 0: every process refreshes on its own (single flight per process still holds)', async () => {
    const { caches, clock } = processes(2, { staleWhileRevalidate: MIN }, { lockDuration: 0 });
    await caches[0]?.get('k', async () => ({ name: 'v1' }));
    await clock.advance(MIN);
    const o = origin({ name: 'v2' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => caches[i % 2]?.get('k', o.fn)));
    await Promise.all(caches.map((c) => c.whenIdle()));
    expect(o.calls).toBe(2);
  });

  it('a value in Redis that is not nines JSON is a miss, reported', async () => {
    const { caches, name, errors } = processes(1);
    await client.set(`${prefix}:v:${name}:bad`, 'not json');
    expect((await caches[0]?.get('bad', async () => ({ name: 'origin' })))?.source).toBe('fresh');
    expect(String(errors[0])).toMatch(/not nines' JSON/);
  });

  it('bad options are refused with the option named', () => {
    expect(() => redisCacheStore(client, { prefix: '' })).toThrow(InvalidOptionError);
    expect(() => redisCacheStore(client, { lockDuration: -1 })).toThrow(/lockDuration/);
    expect(() => redisCacheStore(client, { timeout: 0 })).toThrow(/timeout/);
    expect(() => redisCacheStore({} as Redis)).toThrow(/ioredis/);
  });
});

describe('cachedFallback on Redis, Redis unreachable', () => {
  it('answers from the origin, then from its memory copy (fresh and stale-if-error), with no unhandled rejection', async () => {
    const rejections = watchRejections();
    const client = new Redis({
      port: await freePort(),
      host: '127.0.0.1',
      enableOfflineQueue: false,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => undefined);
    const errors: unknown[] = [];
    const clock = clockAtStart();
    const cache = cachedFallback<string>({
      name: uniqueName('down'),
      ttl: MIN,
      staleWhileRevalidate: MIN,
      clock,
      store: redisCacheStore(client, { breaker: { failureThreshold: 2, openDuration: MIN } }),
      onError: (e) => errors.push(e),
    });
    try {
      const o = origin('v1');
      expect((await cache.get('k', o.fn)).source).toBe('fresh');
      expect(await cache.get('k', o.fn)).toMatchObject({ value: 'v1', source: 'cache' });
      await clock.advance(MIN);
      o.fail();
      expect(await cache.get('k', o.fn)).toMatchObject({ value: 'v1', source: 'stale' }); // swr, refresh fails in the background
      await cache.whenIdle();
      await clock.advance(MIN);
      expect(await cache.get('k', o.fn)).toMatchObject({ value: 'v1', source: 'stale' }); // stale-if-error
      await cache.get('other', o.fn).catch(() => undefined);
      await cache.delete('k');
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections.seen).toEqual([]);
      expect(errors.length).toBeGreaterThan(0); // Redis failures and the failed refresh, reported, never thrown
    } finally {
      rejections.stop();
      client.disconnect();
    }
  });
});

/** Waits until `done()` holds (polling, up to 20 s on a busy machine). */
function until(done: () => boolean): Promise<unknown> {
  return waitFor('the condition', async () => (done() ? true : undefined));
}
