/**
 * The Lua twins against the TypeScript transitions: random sequences of consume, penalty, reward
 * and peek on one key, each run both ways at the same `now` (the twin test's script takes `now` as
 * an argument instead of Redis' TIME), must give the same decisions, field for field.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlgorithm, type Decision } from '../../../src/ratelimit/index.js';
import { luaScript } from '../../../src/ratelimit/stores/redis/lua.js';
import { hasRedis, redisUrl, uniqueName } from '../../support/services.js';
import { KINDS } from '../helpers.js';

const available = await hasRedis();
const START = 1_700_000_000_000;

/** The decisions in a script's reply: five numbers each. */
const decisions = (r: number[]): Decision[] =>
  Array.from({ length: r.length / 5 }, (_, i) => ({
    allowed: r[5 * i] === 1,
    limit: r[5 * i + 1] as number,
    remaining: r[5 * i + 2] as number,
    resetMs: r[5 * i + 3] as number,
    retryAfterMs: r[5 * i + 4] as number,
  }));

const steps = fc.array(
  fc.record({
    dt: fc.oneof(fc.nat({ max: 50 }), fc.nat({ max: 3000 })),
    op: fc.constantFrom('consume', 'consume', 'consume', 'penalty', 'reward', 'peek'),
    share: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  { maxLength: 40 },
);
const options = fc.record({
  limit: fc.integer({ min: 1, max: 12 }),
  windowDuration: fc.integer({ min: 1, max: 2000 }),
  burstExtra: fc.nat({ max: 6 }),
  blockDuration: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2500 })),
});

describe.skipIf(!available)('Redis Lua twins', () => {
  let client: Redis;
  const prefix = uniqueName('twin');
  beforeAll(() => {
    client = new Redis(redisUrl, { lazyConnect: false });
    for (const kind of KINDS) client.defineCommand(`twin_${kind.replace('-', '_')}`, { lua: luaScript(kind, true) });
  });
  /** The twin script of `kind`, as a function. */
  const twin = (kind: string) => {
    const commands = client as unknown as Record<string, (...args: unknown[]) => Promise<number[]>>;
    return (commands[`twin_${kind.replace('-', '_')}`] as (...args: unknown[]) => Promise<number[]>).bind(client);
  };
  afterAll(async () => {
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  for (const kind of KINDS) {
    it(`${kind}: the Lua script decides exactly as the TypeScript transition`, async () => {
      const script = twin(kind);
      let run = 0;
      await fc.assert(
        fc.asyncProperty(options, steps, async (o, seq) => {
          const buckets = kind === 'token-bucket' || kind === 'gcra';
          const a = createAlgorithm({
            algorithm: kind,
            limit: o.limit,
            windowDuration: o.windowDuration,
            burst: buckets ? o.limit + o.burstExtra : undefined,
            blockDuration: o.blockDuration,
          });
          const key = `${prefix}:${kind}:${run++}`;
          const s = new Float64Array(a.slots);
          const limits = [a.limit, a.windowDuration, a.capacity, a.blockDuration, a.ttl, a.slots];
          let now = START + (run % 7) * 123;
          for (const step of seq) {
            now += step.dt;
            const n = Math.max(1, Math.ceil(step.share * a.capacity));
            let want: Decision;
            let op: string;
            let arg = n;
            if (step.op === 'consume') [want, op] = [a.consume(s, 0, now, n), 'c'];
            else if (step.op === 'penalty') [want, op] = [a.adjust(s, 0, now, n), 'a'];
            else if (step.op === 'reward') [want, op, arg] = [a.adjust(s, 0, now, -n), 'a', -n];
            else [want, op] = [a.peek(s, 0, now), 'p'];
            const [got] = decisions(await script(1, key, now, ...limits, op, arg));
            expect(got, `${step.op} ${arg} at +${now - START} ms`).toEqual(want);
          }
        }),
        { numRuns: 60, seed: 15 },
      );
    });
  }

  for (const kind of KINDS) {
    it(`${kind}: a batch decides key after key at one instant, as the transitions would one after the other`, async () => {
      const script = twin(kind);
      let run = 0;
      const batch = fc.array(
        fc.record({ key: fc.nat({ max: 2 }), op: fc.constantFrom('c', 'c', 'a', 'p'), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
        {
          minLength: 1,
          maxLength: 30,
        },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ dt: fc.nat({ max: 1500 }), batch }), { maxLength: 6 }), async (rounds) => {
          const a = createAlgorithm({ algorithm: kind, limit: 5, windowDuration: 1000, blockDuration: 300 });
          const limits = [a.limit, a.windowDuration, a.capacity, a.blockDuration, a.ttl, a.slots];
          const states = [0, 1, 2].map(() => new Float64Array(a.slots));
          const base = `${prefix}:batch:${kind}:${run++}`;
          let now = START;
          for (const { dt, batch: items } of rounds) {
            now += dt;
            const want = items.map(({ key, op, share }) => {
              const s = states[key] as Float64Array;
              const n = Math.max(1, Math.ceil(share * a.capacity));
              return op === 'c' ? a.consume(s, 0, now, n) : op === 'a' ? a.adjust(s, 0, now, n) : a.peek(s, 0, now);
            });
            const args = items.flatMap(({ op, share }) => [op, Math.max(1, Math.ceil(share * a.capacity))]);
            const r = await script(items.length, ...items.map((i) => `${base}:${i.key}`), now, ...limits, ...args);
            expect(decisions(r)).toEqual(want);
          }
        }),
        { numRuns: 40, seed: 16 },
      );
    });
  }

  it('a key is written with the algorithm’s ttl and not at all by a peek', async () => {
    const a = createAlgorithm({ algorithm: 'sliding-window', limit: 3, windowDuration: 10_000 });
    const script = twin('sliding-window');
    const key = `${prefix}:ttl`;
    const limits = [a.limit, a.windowDuration, a.capacity, a.blockDuration, a.ttl, a.slots];
    await script(1, key, START, ...limits, 'p', 1);
    expect(await client.exists(key)).toBe(0);
    await script(1, key, START, ...limits, 'c', 1);
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(a.ttl);
  });
});
