import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { isNinesError, NinesError } from '../../src/core/errors.js';
import { rateLimitMetrics } from '../../src/metrics/index.js';
import { retry } from '../../src/policy/index.js';
import {
  type Decision,
  MemoryStore,
  RateLimitedError,
  RateLimiter,
  type RateLimitStoreFactory,
  rateLimiter,
} from '../../src/ratelimit/index.js';
import { limiterAt, ManualClock } from './helpers.js';

describe('rate limiter', () => {
  it('consumeOrThrow throws a RateLimitedError with a code and retryAfterMs, without a stack of internals', () => {
    const { limiter } = limiterAt({ name: 'api', algorithm: 'fixed-window', limit: 2, windowDuration: 1000 });
    expect(limiter.consumeOrThrow('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
    let caught: unknown;
    try {
      limiter.consumeOrThrow('k');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RateLimitedError);
    expect(caught).toBeInstanceOf(NinesError);
    expect(isNinesError(caught, 'NINES_RATE_LIMITED')).toBe(true);
    const error = caught as RateLimitedError;
    expect(error.message).toBe('rate limit "api" exceeded; retry in 1000 ms');
    expect(error).toMatchObject({ limiter: 'api', retryAfterMs: 1000, decision: { allowed: false, remaining: 0 } });
    expect(error.stack).toBe('RateLimitedError: rate limit "api" exceeded; retry in 1000 ms');
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });

  it('the retry policy waits the retryAfterMs a RateLimitedError carries, on the same manual clock', async () => {
    const clock = new ManualClock(10_000);
    const limiter = rateLimiter({ algorithm: 'gcra', limit: 4, windowDuration: 1000, burst: 1, clock });
    const policy = retry({ maxAttempts: 3, backoff: { type: 'constant', delay: 1 }, budget: false, clock });
    const calls: number[] = [];
    const call = () => {
      calls.push(clock.now());
      return limiter.consumeOrThrow('k');
    };
    await policy.execute(call);
    const second = policy.execute(call);
    await clock.advance(249);
    expect(calls).toEqual([10_000, 10_000]); // refused, waiting 250 ms, not the backoff's 1 ms
    await clock.advance(1);
    await expect(second).resolves.toMatchObject({ allowed: true });
    expect(calls).toEqual([10_000, 10_000, 10_250]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('counts decisions in nines_rate_limit_decisions_total{limiter,decision}, consumeOrThrow included', async () => {
    const registry = new Registry();
    const metrics = rateLimitMetrics(registry);
    const { limiter } = limiterAt({ name: 'login', limit: 2, windowDuration: 1000, metrics });
    expect(await registry.metrics()).toContain('nines_rate_limit_decisions_total{limiter="login",decision="rejected"} 0');
    limiter.consume('k');
    limiter.consume('k');
    limiter.consume('k');
    expect(() => limiter.consumeOrThrow('k')).toThrow(RateLimitedError);
    limiter.get('k');
    limiter.penalty('k');
    const text = await registry.metrics();
    expect(text).toContain('nines_rate_limit_decisions_total{limiter="login",decision="allowed"} 2');
    expect(text).toContain('nines_rate_limit_decisions_total{limiter="login",decision="rejected"} 2');
  });

  it('works on a store that answers with promises (the Redis store will): consume resolves, consumeOrThrow rejects', async () => {
    const clock = new ManualClock();
    const asyncMemory: RateLimitStoreFactory<Promise<Decision>> = (spec) => {
      const memory = new MemoryStore(spec);
      return {
        sync: false,
        consume: async (key, cost) => memory.consume(key, cost),
        adjust: async (key, points) => memory.adjust(key, points),
        get: async (key) => memory.get(key),
        delete: async (key) => memory.delete(key),
      };
    };
    const registry = new Registry();
    const limiter = new RateLimiter({
      name: 'far',
      limit: 1,
      windowDuration: 1000,
      clock,
      store: asyncMemory,
      metrics: rateLimitMetrics(registry),
    });
    await expect(limiter.consume('k')).resolves.toMatchObject({ allowed: true });
    await expect(limiter.consumeOrThrow('k')).rejects.toMatchObject({ code: 'NINES_RATE_LIMITED', retryAfterMs: 2000 });
    await expect(limiter.reward('k')).resolves.toMatchObject({ remaining: 1 });
    await expect(limiter.delete('k')).resolves.toBe(true);
    expect(await registry.metrics()).toContain('nines_rate_limit_decisions_total{limiter="far",decision="rejected"} 1');
  });

  it('defaults to a sliding window in memory, and refuses a key that is not a string or an empty name', () => {
    const limiter = rateLimiter({ limit: 3, windowDuration: 1000 });
    expect(limiter.algorithm.kind).toBe('sliding-window');
    expect(limiter.name).toBe('default');
    expect(limiter.store).toBeInstanceOf(MemoryStore);
    expect(() => limiter.consume(42 as unknown as string)).toThrow('key must be a string, got number');
    expect(() => rateLimiter({ name: '', limit: 3, windowDuration: 1000 })).toThrow('name must be a non-empty string, got ""');
  });
});
