import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, ManualClock } from '../../../src/index.js';
import { type Decision, RateLimiter, type RateLimiterOptions, type RedisStoreOptions, redisStore } from '../../../src/ratelimit/index.js';
import { freePort } from '../../support/e2e.js';
import { hasRedis, redisUrl, uniqueName } from '../../support/services.js';

const available = await hasRedis();

describe.skipIf(!available)('Redis store', () => {
  let client: Redis;
  const prefix = uniqueName('rl');
  beforeAll(() => {
    client = new Redis(redisUrl);
  });
  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  let n = 0;
  /** A limiter on the shared Redis under this file's prefix, on a manual clock (the cache's; Redis keeps its own time). */
  function limiter(options: Partial<RateLimiterOptions<Promise<Decision>>> = {}, store: RedisStoreOptions = {}) {
    const clock = new ManualClock(1_700_000_000_000);
    const l = new RateLimiter<Promise<Decision>>({
      name: `l${n++}`,
      limit: 3,
      windowDuration: 60_000,
      clock,
      store: redisStore(client, { prefix, ...store }),
      ...options,
    });
    return { clock, limiter: l };
  }

  it('decides on one hash-tagged key per limiter and key, which expires after the algorithm’s ttl', async () => {
    const { limiter: l } = limiter();
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await l.consume('alice'));
    expect(got.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(got[2]).toMatchObject({ limit: 3, remaining: 0 });
    expect(got[3]?.retryAfterMs).toBeGreaterThan(0);
    expect(await client.keys(`${prefix}:${l.name}:*`)).toEqual([`${prefix}:${l.name}:{alice}`]);
    const ttl = await client.pttl(`${prefix}:${l.name}:{alice}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(l.algorithm.ttl);
    expect((await l.consume('bob')).allowed).toBe(true);
  });

  it('penalty, reward, get and delete act on the Redis key', async () => {
    const { limiter: l } = limiter();
    expect((await l.get('k')).remaining).toBe(3);
    expect((await l.penalty('k', 2)).remaining).toBe(1);
    expect((await l.reward('k')).remaining).toBe(2);
    expect((await l.get('k')).remaining).toBe(2);
    expect(await l.delete('k')).toBe(true);
    expect(await l.delete('k')).toBe(false);
    expect((await l.get('k')).remaining).toBe(3);
  });

  it('a refused key is answered in this process until its retry time: Redis is not asked again', async () => {
    const { clock, limiter: l } = limiter({ limit: 1 });
    expect((await l.consume('flood')).allowed).toBe(true);
    const refused = await l.consume('flood');
    expect(refused.allowed).toBe(false);
    await client.del(`${prefix}:${l.name}:{flood}`); // Redis would allow now; the cache still refuses
    const cached = await l.consume('flood');
    expect(cached).toMatchObject({ allowed: false, remaining: 0 });
    expect(cached.retryAfterMs).toBeLessThanOrEqual(refused.retryAfterMs);
    expect(await l.consumeOrThrow('flood').catch((e: unknown) => e)).toMatchObject({ code: 'NINES_RATE_LIMITED' });
    await clock.advance(refused.retryAfterMs);
    expect((await l.consume('flood')).allowed).toBe(true); // past the retry time: asked Redis again // past the retry time: asked Redis again
  });

  it('a cached refusal answers only requests at least as costly; a reward or delete clears it', async () => {
    const { limiter: l } = limiter({ limit: 3 });
    expect((await l.consume('c', 2)).allowed).toBe(true);
    expect((await l.consume('c', 2)).allowed).toBe(false);
    expect((await l.consume('c', 1)).allowed).toBe(true); // cheaper: asked Redis, fits
    expect((await l.consume('c', 1)).allowed).toBe(false);
    await client.del(`${prefix}:${l.name}:{c}`);
    expect((await l.consume('c', 1)).allowed).toBe(false); // cached
    await l.reward('c', 1);
    expect((await l.consume('c', 1)).allowed).toBe(true);
    expect((await l.consume('c', 3)).allowed).toBe(false);
    await l.delete('c');
    expect((await l.consume('c', 3)).allowed).toBe(true);
  });

  it('rejectedKeys: 0 asks Redis for every request', async () => {
    const { limiter: l } = limiter({ limit: 1 }, { rejectedKeys: 0 });
    await l.consume('x');
    expect((await l.consume('x')).allowed).toBe(false);
    await client.del(`${prefix}:${l.name}:{x}`);
    expect((await l.consume('x')).allowed).toBe(true);
  });

  it('blockDuration holds a key refused in Redis', async () => {
    const { limiter: l } = limiter({ limit: 1, blockDuration: 120_000 }, { rejectedKeys: 0 });
    await l.consume('b');
    const d = await l.consume('b');
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(120_000);
    expect((await l.get('b')).retryAfterMs).toBeGreaterThan(60_000);
  });

  it('bad options are refused with the option named', () => {
    expect(() => redisStore(client, { prefix: 'a{b}' })).toThrow(InvalidOptionError);
    expect(() => redisStore(client, { insurance: { mode: 'maybe' as 'open' } })).toThrow(/insurance.mode/);
    expect(() => redisStore(client, { insurance: { expectedInstances: 0 } })).toThrow(/expectedInstances/);
    expect(() => redisStore({} as Redis)).toThrow(/ioredis/);
    expect(() => limiter({ name: 'has{brace}' })).toThrow(/name/);
  });
});

describe('Redis store insurance, Redis unreachable', () => {
  /** A client to a port nobody listens on, that fails its calls at once. */
  async function unreachable() {
    const client = new Redis({ port: await freePort(), host: '127.0.0.1', enableOfflineQueue: false, lazyConnect: true });
    client.on('error', () => {}); // connection refused: expected here
    return client;
  }

  it("'memory' (the default) answers with this process' share of the limit, Redis tried at most the breaker's threshold", async () => {
    const client = await unreachable();
    const errors: unknown[] = [];
    const clock = new ManualClock(0);
    const l = new RateLimiter({
      limit: 10,
      windowDuration: 60_000,
      clock,
      store: redisStore(client, { insurance: { expectedInstances: 4, onError: (e) => errors.push(e) } }),
    });
    const got: boolean[] = [];
    for (let i = 0; i < 12; i++) got.push((await l.consume('k')).allowed);
    expect(got).toEqual([true, true, ...Array(10).fill(false)]); // floor(10 / 4) = 2 in this process
    // tried while connecting (each attempt fails at once), then not: the client reconnects, or the breaker opened
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(3);
    expect(await l.delete('k')).toBe(true);
    expect((await l.consume('k')).allowed).toBe(true);
    client.disconnect();
  });

  it("'open' allows and 'closed' refuses, each without throwing", async () => {
    const client = await unreachable();
    const open = new RateLimiter({ limit: 1, windowDuration: 1000, store: redisStore(client, { insurance: { mode: 'open' } }) });
    const closed = new RateLimiter({ limit: 1, windowDuration: 1000, store: redisStore(client, { insurance: { mode: 'closed' } }) });
    for (let i = 0; i < 3; i++) {
      expect((await open.consume('k')).allowed).toBe(true);
      expect(await closed.consume('k')).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    }
    client.disconnect();
  });
});
