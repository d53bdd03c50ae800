import { describe, expect, it } from 'vitest';
import { cachedFallback, MemoryCacheStore, memoryCacheStore } from '../../../src/degrade/fallback/index.js';
import { createMetricsRegistry, fallbackMetrics } from '../../../src/metrics/index.js';
import { BrokenCircuitError, CircuitBreaker, compose, InvalidOptionError, retry } from '../../../src/policy/index.js';
import { clockAtStart, gatedOrigin, origin } from './helpers.js';

const MIN = 60_000;

describe('cachedFallback', () => {
  it('answers from the cache within ttl, then asks the origin again', async () => {
    const clock = clockAtStart();
    const cache = cachedFallback<string>({ ttl: MIN, clock });
    const o = origin('v1');
    expect(await cache.get('k', o.fn)).toEqual({ value: 'v1', source: 'fresh', ageMs: 0 });
    await clock.advance(MIN - 1);
    expect(await cache.get('k', o.fn)).toEqual({ value: 'v1', source: 'cache', ageMs: MIN - 1 });
    expect(o.calls).toBe(1);
    o.answer('v2');
    await clock.advance(1);
    expect(await cache.get('k', o.fn)).toEqual({ value: 'v2', source: 'fresh', ageMs: 0 });
    expect(o.calls).toBe(2);
  });

  it('stale-if-error: a failing origin gets the last good value, with its age and the error, until staleIfError runs out', async () => {
    const clock = clockAtStart();
    const cache = cachedFallback<string>({ ttl: MIN, staleIfError: 10 * MIN, clock });
    const o = origin('good');
    await cache.get('k', o.fn);
    const down = new Error('down');
    o.fail(down);
    await clock.advance(MIN);
    expect(await cache.get('k', o.fn)).toEqual({ value: 'good', source: 'stale', ageMs: MIN, error: down });
    await clock.advance(10 * MIN - 1);
    expect((await cache.get('k', o.fn)).ageMs).toBe(11 * MIN - 1);
    await clock.advance(1);
    await expect(cache.get('k', o.fn)).rejects.toBe(down);
    await expect(cache.get('never-seen', o.fn)).rejects.toBe(down);
  });

  it('serveStaleOn picks the errors a stale value may stand in for', async () => {
    const clock = clockAtStart();
    const notFound = Object.assign(new Error('404'), { status: 404 });
    const cache = cachedFallback<string>({ ttl: 0, clock, serveStaleOn: (e) => (e as { status?: number }).status !== 404 });
    const o = origin('x');
    await cache.get('k', o.fn);
    o.fail(notFound);
    await expect(cache.get('k', o.fn)).rejects.toBe(notFound);
    o.fail(new Error('500'));
    expect((await cache.get('k', o.fn)).source).toBe('stale');
  });

  it('stale-while-revalidate: answers stale at once and refreshes once in the background', async () => {
    const clock = clockAtStart();
    const cache = cachedFallback<string>({ ttl: MIN, staleWhileRevalidate: MIN, clock });
    const o = origin('v1');
    await cache.get('k', o.fn);
    await clock.advance(MIN + 5);
    const refresh = gatedOrigin<string>();
    const answers = await Promise.all(Array.from({ length: 100 }, () => cache.get('k', refresh.fn)));
    expect(answers.every((a) => a.value === 'v1' && a.source === 'stale' && a.ageMs === MIN + 5)).toBe(true);
    expect(refresh.calls).toBe(1);
    expect(cache.refreshing).toBe(1);
    refresh.open('v2');
    await cache.whenIdle();
    expect(cache.refreshing).toBe(0);
    expect(await cache.get('k', o.fn)).toEqual({ value: 'v2', source: 'cache', ageMs: 0 });
    expect(o.calls).toBe(1);
  });

  it('a failed background refresh goes to onError and leaves the stale value; past the window the caller waits for the origin', async () => {
    const clock = clockAtStart();
    const errors: unknown[] = [];
    const cache = cachedFallback<string>({
      ttl: MIN,
      staleWhileRevalidate: MIN,
      staleIfError: 5 * MIN,
      clock,
      onError: (e) => errors.push(e),
    });
    const o = origin('v1');
    await cache.get('k', o.fn);
    o.fail();
    await clock.advance(MIN);
    expect((await cache.get('k', o.fn)).source).toBe('stale');
    await cache.whenIdle();
    expect(errors).toHaveLength(1);
    expect((await cache.get('k', o.fn)).value).toBe('v1'); // a second refresh, also failed
    await cache.whenIdle();
    expect(o.calls).toBe(3);
    await clock.advance(MIN); // past ttl + swr: the caller waits for the origin, then gets stale-if-error
    const answer = await cache.get('k', o.fn);
    expect(answer).toMatchObject({ value: 'v1', source: 'stale', ageMs: 2 * MIN });
    expect(answer.error).toBeInstanceOf(Error);
  });

  it('single flight: 100 concurrent callers of a missing key share one origin call, its value and its failure', async () => {
    const cache = cachedFallback<string>({ ttl: MIN, clock: clockAtStart() });
    const o = gatedOrigin<string>();
    const calls = Array.from({ length: 100 }, () => cache.get('k', o.fn));
    await Promise.resolve();
    o.open('once');
    const answers = await Promise.all(calls);
    expect(o.calls).toBe(1);
    expect(new Set(answers.map((a) => `${a.value}/${a.source}`))).toEqual(new Set(['once/fresh']));

    const failing = gatedOrigin<string>();
    const failed = Array.from({ length: 100 }, () => cache.get('other', failing.fn).catch((e: unknown) => e));
    const boom = new Error('boom');
    failing.fail(boom);
    expect((await Promise.all(failed)).every((e) => e === boom)).toBe(true);
    expect(failing.calls).toBe(1);
    expect(cache.refreshing).toBe(0);
  });

  it('a caller whose signal aborts stops waiting; the shared call goes on and fills the cache', async () => {
    const cache = cachedFallback<string>({ ttl: MIN, clock: clockAtStart() });
    const o = gatedOrigin<string>();
    const controller = new AbortController();
    const leaving = cache.get('k', o.fn, controller.signal);
    const staying = cache.get('k', o.fn);
    controller.abort(new Error('caller left'));
    await expect(leaving).rejects.toThrow('caller left');
    o.open('v');
    expect((await staying).value).toBe('v');
    expect((await cache.get('k', o.fn)).source).toBe('cache');
    expect(o.calls).toBe(1);
    await expect(cache.get('k', o.fn, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a store lock held elsewhere: no background refresh, and a caller who joined the lock attempt calls the origin itself', async () => {
    const clock = clockAtStart();
    const locks: PromiseWithResolvers<boolean>[] = [];
    const cache = cachedFallback<string>({
      ttl: MIN,
      staleWhileRevalidate: MIN,
      clock,
      store: (spec) => {
        const memory = new MemoryCacheStore(spec);
        return {
          get: (key) => memory.get(key),
          set: (key, entry) => memory.set(key, entry),
          delete: (key) => memory.delete(key),
          lock: () => {
            const lock = Promise.withResolvers<boolean>();
            locks.push(lock);
            return lock.promise;
          },
          unlock: async () => undefined,
        };
      },
    });
    const o = origin('v1');
    await cache.get('k', o.fn);
    await clock.advance(MIN);
    expect((await cache.get('k', o.fn)).source).toBe('stale'); // asks for the lock
    expect(locks).toHaveLength(1);
    await clock.advance(MIN); // past the window: this caller must wait, and joins the lock attempt
    o.answer('v2');
    const waiting = cache.get('k', o.fn);
    locks[0]?.resolve(false); // another process refreshes
    expect(await waiting).toMatchObject({ value: 'v2', source: 'fresh' });
    expect(o.calls).toBe(2);
    await cache.whenIdle();
  });

  it('delete forgets a key', async () => {
    const cache = cachedFallback<number>({ ttl: MIN, clock: clockAtStart() });
    const o = origin(1);
    await cache.get('k', o.fn);
    await cache.delete('k');
    expect((await cache.get('k', o.fn)).source).toBe('fresh');
    expect(o.calls).toBe(2);
  });

  it('composes outermost: compose(cache.forKey(k), breaker, retry) serves stale once retries fail and the breaker opens', async () => {
    const clock = clockAtStart();
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDuration: MIN, clock });
    const cache = cachedFallback<string>({ ttl: 1000, clock });
    const policy = compose(cache.forKey('user:1'), breaker, retry({ maxAttempts: 2, backoff: { type: 'constant', delay: 0 }, clock }));
    const o = origin('alice');
    expect(await policy.execute(o.fn)).toBe('alice');
    o.fail();
    await clock.advance(1000);
    expect(await policy.execute(o.fn)).toBe('alice'); // 2 attempts failed: the breaker counted one failure
    expect(await policy.execute(o.fn)).toBe('alice'); // 2 more: the breaker opens
    expect(breaker.state).toBe('open');
    const calls = o.calls;
    const answer = await cache.forKey('user:1').answer((ctx) => breaker.run(o.fn, ctx));
    expect(answer.source).toBe('stale');
    expect(answer.error).toBeInstanceOf(BrokenCircuitError);
    expect(o.calls).toBe(calls);
  });

  it('policy: every origin call runs under it, with the attempt of the composed context', async () => {
    const clock = clockAtStart();
    let attempts = 0;
    const cache = cachedFallback<number>({
      ttl: 1000,
      clock,
      policy: retry({ maxAttempts: 3, backoff: { type: 'constant', delay: 0 }, clock }),
    });
    const flaky = async ({ attempt }: { attempt: number }) => {
      attempts++;
      if (attempt < 3) throw new Error(`attempt ${attempt}`);
      return attempt;
    };
    expect(await cache.get('k', flaky)).toMatchObject({ value: 3, source: 'fresh' });
    expect(attempts).toBe(3);
  });

  it('counts answers by source in nines_fallback_total', async () => {
    const registry = createMetricsRegistry();
    const clock = clockAtStart();
    const cache = cachedFallback<string>({ name: 'users', ttl: 1000, clock, metrics: fallbackMetrics(registry) });
    expect(await registry.metrics()).toContain('nines_fallback_total{fallback="users",source="stale"} 0');
    const o = origin('v');
    await cache.get('k', o.fn);
    await cache.get('k', o.fn);
    o.fail();
    await clock.advance(1000);
    await cache.get('k', o.fn);
    await cache.get('missing', o.fn).catch(() => undefined);
    const text = await registry.metrics();
    for (const source of ['fresh', 'cache', 'stale', 'failed']) {
      expect(text).toContain(`nines_fallback_total{fallback="users",source="${source}"} 1`);
    }
  });

  it('bad options are refused with the option named', () => {
    expect(() => cachedFallback({ ttl: -1 })).toThrow(InvalidOptionError);
    expect(() => cachedFallback({ ttl: 1, staleIfError: Number.NaN })).toThrow(/staleIfError/);
    expect(() => cachedFallback({ ttl: 1, staleWhileRevalidate: -5 })).toThrow(/staleWhileRevalidate/);
    expect(() => cachedFallback({ ttl: 1, policy: {} as never })).toThrow(/policy/);
    expect(() => cachedFallback({ ttl: 1, name: '' })).toThrow(/name/);
    expect(() => cachedFallback({ ttl: 1 }).forKey('')).toThrow(/key/);
    expect(() => memoryCacheStore({ maxKeys: 1 })).toThrow(/maxKeys/);
  });
});

describe('memoryCacheStore', () => {
  const entry = (fetchedAt: number) => ({ value: fetchedAt, fetchedAt });

  it('holds at most maxKeys, keeping the most recently used half', () => {
    const clock = clockAtStart();
    const store = new MemoryCacheStore({ clock, retention: MIN }, { maxKeys: 4 });
    for (let i = 0; i < 10; i++) {
      store.set(`k${i}`, entry(clock.now()));
      expect(store.size).toBeLessThanOrEqual(4);
    }
    expect(store.get('k9')).toBeDefined();
    expect(store.get('k8')).toBeDefined();
    expect(store.get('k0')).toBeUndefined();
  });

  it('an entry past retention is a miss, and a generation untouched for retention is dropped whole', async () => {
    const clock = clockAtStart();
    const store = new MemoryCacheStore({ clock, retention: MIN });
    store.set('a', entry(clock.now()));
    store.set('b', entry(clock.now()));
    await clock.advance(MIN - 1);
    expect(store.get('a')).toBeDefined();
    await clock.advance(1);
    expect(store.get('a')).toBeUndefined();
    await clock.advance(MIN);
    store.get('x');
    expect(store.size).toBe(0);
  });
});
