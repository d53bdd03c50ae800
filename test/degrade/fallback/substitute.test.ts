import { describe, expect, it } from 'vitest';
import { FallbackFailedError, serviceFallback, staticFallback } from '../../../src/degrade/fallback/index.js';
import { createMetricsRegistry, fallbackMetrics } from '../../../src/metrics/index.js';
import { CircuitBreaker, compose, InvalidOptionError, isNinesError, retry, TimeoutError, timeout } from '../../../src/policy/index.js';
import { clockAtStart } from './helpers.js';

const fail = (): never => {
  throw new Error('primary down');
};

describe('staticFallback', () => {
  it('answers the value when the call fails, and says so', async () => {
    const f = staticFallback<string[]>([]);
    expect(await f.execute(() => ['a'])).toEqual(['a']);
    expect(await f.execute(fail)).toEqual([]);
    expect(await f.answer(() => ['a'])).toEqual({ value: ['a'], source: 'fresh', ageMs: 0 });
    const answer = await f.answer(fail);
    expect(answer).toMatchObject({ value: [], source: 'static' });
    expect((answer.error as Error).message).toBe('primary down');
  });

  it('a function value is answered as it is, not called', async () => {
    const value = () => 'not called';
    expect(await staticFallback(value).execute(fail)).toBe(value);
  });

  it('on: only the outcomes it picks get the value (a bad value too); the rest pass through', async () => {
    const f = staticFallback('default', { on: (o) => (o.ok ? o.value === '' : (o.error as Error).message !== 'fatal') });
    expect(await f.execute(() => '')).toBe('default');
    expect(await f.execute(fail)).toBe('default');
    await expect(
      f.execute(() => {
        throw new Error('fatal');
      }),
    ).rejects.toThrow('fatal');
  });

  it('a caller that gave up gets its abort reason, not the value', async () => {
    const controller = new AbortController();
    const f = staticFallback('x');
    const call = f.execute(async ({ signal }) => {
      controller.abort(new Error('left'));
      throw signal.reason;
    }, controller.signal);
    await expect(call).rejects.toThrow('left');
  });

  it('composes outermost over breaker, retry and timeout', async () => {
    const clock = clockAtStart();
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1000, clock });
    const policy = compose(
      staticFallback('cached page'),
      breaker,
      retry({ maxAttempts: 2, backoff: { type: 'constant', delay: 0 }, clock }),
      timeout(100, { clock }),
    );
    let calls = 0;
    const hang = ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((_, reject) => {
        calls++;
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const first = policy.execute(hang);
    await clock.advance(100);
    await clock.advance(100);
    expect(await first).toBe('cached page');
    expect(calls).toBe(2);
    expect(await policy.execute(hang)).toBe('cached page'); // breaker open: not called
    expect(calls).toBe(2);
  });
});

describe('serviceFallback', () => {
  it('calls the alternate with the context and the failed outcome', async () => {
    const seen: unknown[] = [];
    const f = serviceFallback((ctx, outcome) => {
      seen.push(ctx.attempt, outcome.ok ? 'ok' : (outcome.error as Error).message);
      return 'replica';
    });
    expect(await f.answer(fail)).toMatchObject({ value: 'replica', source: 'service' });
    expect(seen).toEqual([1, 'primary down']);
    expect(await f.execute(() => 'primary')).toBe('primary');
  });

  it('the alternate runs under its own policy; if it fails too, FallbackFailedError holds both errors', async () => {
    const clock = clockAtStart();
    const f = serviceFallback(
      ({ signal }) => new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      {
        name: 'search',
        policy: timeout(50, { clock }),
      },
    );
    const call = f.execute(fail).catch((e: unknown) => e);
    await clock.advance(50);
    const error = (await call) as FallbackFailedError;
    expect(error).toBeInstanceOf(FallbackFailedError);
    expect(isNinesError(error, 'NINES_FALLBACK_FAILED')).toBe(true);
    expect((error.error as Error).message).toBe('primary down');
    expect(error.cause).toBeInstanceOf(TimeoutError);
    expect(error.message).toContain('search');
  });

  it('counts answers by source', async () => {
    const registry = createMetricsRegistry();
    const f = serviceFallback(
      () => {
        throw new Error('also down');
      },
      { name: 'geo', metrics: fallbackMetrics(registry) },
    );
    const g = serviceFallback(() => 'b', { name: 'geo2', metrics: fallbackMetrics(registry) });
    await f.execute(() => 'a');
    await f.execute(fail).catch(() => undefined);
    await g.execute(fail);
    const text = await registry.metrics();
    const counts = { 'geo/fresh': 1, 'geo/failed': 1, 'geo/service': 0, 'geo2/service': 1 };
    for (const [key, n] of Object.entries(counts)) {
      const [name, source] = key.split('/');
      expect(text).toContain(`nines_fallback_total{fallback="${name}",source="${source}"} ${n}`);
    }
  });

  it('bad options are refused with the option named', () => {
    expect(() => serviceFallback('x' as never)).toThrow(InvalidOptionError);
    expect(() => serviceFallback(() => 1, { policy: 3 as never })).toThrow(/policy/);
    expect(() => staticFallback(1, { on: 'x' as never })).toThrow(/on/);
    expect(() => staticFallback(1, { name: '' })).toThrow(/name/);
  });
});
