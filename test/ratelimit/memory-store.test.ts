import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAlgorithm, type Decision, MemoryStore } from '../../src/ratelimit/index.js';
import { KINDS, limiterAt, ManualClock, memoryStore } from './helpers.js';

const sizeOf = (limiter: { store: unknown }) => (limiter.store as MemoryStore).size;

describe('memory store', () => {
  it('holds at most maxKeys, never drops the maxKeys / 2 most recently used, and a dropped key starts fresh', () => {
    const { limiter } = limiterAt({ algorithm: 'fixed-window', limit: 5, windowDuration: 60_000, store: memoryStore({ maxKeys: 4 }) });
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) {
      limiter.consume(key, 5);
      expect(sizeOf(limiter)).toBeLessThanOrEqual(4);
    }
    expect(limiter.consume('f').allowed).toBe(false); // the two most recent keep their state
    expect(limiter.consume('g').allowed).toBe(false);
    expect(limiter.get('a')).toMatchObject({ allowed: true, remaining: 5 }); // long dropped: fresh
    limiter.consume('a', 5);
    // using a key of the old generation moves it to the new one, so it outlives unused ones
    const { limiter: lru } = limiterAt({ algorithm: 'fixed-window', limit: 5, windowDuration: 60_000, store: memoryStore({ maxKeys: 4 }) });
    for (const key of ['a', 'b', 'c', 'a', 'd', 'e']) lru.consume(key);
    expect(lru.get('a').remaining).toBe(3);
    expect(lru.get('b').remaining).toBe(5);
  });

  it('forgets idle keys a ttl after their last change without a timer, and never earlier', async () => {
    const { clock, limiter } = limiterAt({
      algorithm: 'token-bucket',
      limit: 10,
      windowDuration: 1000,
      store: memoryStore({ maxKeys: 1000 }),
    });
    const ttl = limiter.algorithm.ttl;
    for (let i = 0; i < 100; i++) limiter.consume(`k${i}`, 10);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(ttl - 1);
    expect(limiter.get('k5').remaining).toBe(9); // 9.99 tokens back: its state is still there
    limiter.consume('k0');
    expect(sizeOf(limiter)).toBe(100);
    await clock.advance(1);
    limiter.consume('k0'); // the keys not used for a ttl move to the old generation
    expect(sizeOf(limiter)).toBe(100);
    await clock.advance(ttl);
    limiter.consume('k0'); // and are dropped a ttl later, all at once
    expect(sizeOf(limiter)).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('get reads without holding or spending, delete forgets both generations', () => {
    const { limiter } = limiterAt({ algorithm: 'gcra', limit: 10, windowDuration: 1000, store: memoryStore({ maxKeys: 2 }) });
    expect(limiter.get('x')).toEqual({ allowed: true, limit: 10, remaining: 10, resetMs: 0, retryAfterMs: 0 });
    expect(sizeOf(limiter)).toBe(0);
    limiter.consume('a', 3);
    limiter.consume('b', 4); // a is now in the old generation
    expect(limiter.get('a').remaining).toBe(7);
    expect(limiter.get('b').remaining).toBe(6);
    expect(limiter.delete('a')).toBe(true);
    expect(limiter.delete('b')).toBe(true);
    expect(sizeOf(limiter)).toBe(0);
    expect(limiter.get('a').remaining).toBe(10);
  });

  it('refuses a maxKeys below 2, naming it', () => {
    expect(() => memoryStore({ maxKeys: 1 })).toThrow('maxKeys must be a number between 2 and 1073741824, got 1');
  });

  for (const algorithm of KINDS) {
    it(`${algorithm}: decides exactly as an unbounded map of states would, whatever the keys and times`, () => {
      const op = fc.record({
        key: fc.integer({ min: 0, max: 5 }),
        dt: fc.nat({ max: 2500 }),
        kind: fc.constantFrom('consume', 'consume', 'consume', 'penalty', 'reward', 'get', 'delete'),
        n: fc.integer({ min: 1, max: 4 }),
      });
      fc.assert(
        fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
          let now = 1_700_000_000_000;
          const clock = { now: () => now, setTimeout: new ManualClock().setTimeout };
          const spec = { name: 'm', algorithm: createAlgorithm({ algorithm, limit: 4, windowDuration: 1000, blockDuration: 500 }), clock };
          const store = new MemoryStore(spec, { maxKeys: 1000 });
          const states = new Map<number, Float64Array>();
          const a = spec.algorithm;
          for (const { key, dt, kind, n } of ops) {
            now += dt;
            const s = states.get(key) ?? new Float64Array(a.slots);
            states.set(key, s);
            let expected: Decision | boolean;
            let actual: Decision | boolean;
            if (kind === 'consume') [expected, actual] = [a.consume(s, 0, now, n), store.consume(`${key}`, n)];
            else if (kind === 'penalty') [expected, actual] = [a.adjust(s, 0, now, n), store.adjust(`${key}`, n)];
            else if (kind === 'reward') [expected, actual] = [a.adjust(s, 0, now, -n), store.adjust(`${key}`, -n)];
            else if (kind === 'get') [expected, actual] = [a.peek(s, 0, now), store.get(`${key}`)];
            else [expected, actual] = [states.delete(key) && store.delete(`${key}`), store.delete(`${key}`)];
            if (kind !== 'delete') expect(actual).toEqual(expected);
          }
        }),
        { numRuns: 200 },
      );
    });
  }

  it('spends on 1,000,000 distinct keys within a stated heap bound, with no timer, and nothing accumulates', () => {
    const fixture = fileURLToPath(new URL('./fixtures/million-keys.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fixture], { encoding: 'utf8', timeout: 120_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const r = JSON.parse(child.stdout) as Record<string, number>;
    expect(r.pendingTimers).toBe(0);
    // default maxKeys (100,000): about 10 MB, whatever the number of keys seen
    expect(r.cappedKeys).toBe(100_000);
    expect(r.cappedBytes).toBeLessThan(20e6);
    expect(r.cappedAfterBytes).toBeLessThan(20e6);
    // maxKeys 1,000,000: every key held, about 95 bytes a key (key string, map entry, 5 numbers)
    expect(r.allKeys).toBe(1_000_000);
    expect(r.allBytes).toBeLessThan(150e6);
    // a second million a window later replaces the first rather than adding to it
    expect(r.allAfterKeys).toBeLessThanOrEqual(1_000_000);
    expect(r.allAfterBytes).toBeLessThan(150e6);
  });
});
