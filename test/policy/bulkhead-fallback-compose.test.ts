import { describe, expect, it } from 'vitest';
import {
  BulkheadRejectedError,
  bulkhead,
  CircuitBreaker,
  compose,
  fallback,
  isNinesError,
  ManualClock,
  retry,
  TimeoutError,
  timeout,
} from '../../src/policy/index.js';
import { boom, deferred, rejection } from './helpers.js';

describe('bulkhead', () => {
  it('runs maxConcurrent at once, queues up to maxQueue in arrival order, rejects the rest', async () => {
    const policy = bulkhead({ maxConcurrent: 2, maxQueue: 2 });
    const started: number[] = [];
    const gates = Array.from({ length: 4 }, () => deferred());
    const calls = gates.map((g, i) =>
      policy.execute(() => {
        started.push(i);
        return g.promise;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect([policy.active, policy.queued]).toEqual([2, 2]);
    const rejected = await rejection(policy.execute(() => 'x'));
    expect(rejected).toBeInstanceOf(BulkheadRejectedError);
    expect(isNinesError(rejected, 'NINES_BULKHEAD_FULL')).toBe(true);
    gates[1]?.resolve();
    await calls[1];
    expect(started).toEqual([0, 1, 2]);
    gates[0]?.resolve();
    await calls[0];
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]?.resolve();
    gates[3]?.resolve();
    await Promise.all(calls);
    expect([policy.active, policy.queued]).toEqual([0, 0]);
  });

  it('frees the slot when a call throws', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    await expect(policy.execute(boom)).rejects.toThrow('boom');
    await expect(policy.execute(() => 'next')).resolves.toBe('next');
  });

  it('rejects a queued call after queueTimeout, leaving no timer', async () => {
    const clock = new ManualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeout: 500, clock });
    const gate = deferred();
    const first = policy.execute(() => gate.promise);
    const queued = policy.execute(() => 'never');
    await clock.advance(499);
    expect(policy.queued).toBe(1);
    await clock.advance(1);
    const error = await rejection(queued);
    expect(isNinesError(error, 'NINES_BULKHEAD_QUEUE_TIMEOUT')).toBe(true);
    expect(policy.queued).toBe(0);
    gate.resolve();
    await first;
    expect(clock.pendingTimers).toBe(0);
  });

  it('a queued call leaves the queue at once when its signal aborts', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const gate = deferred();
    const first = policy.execute(() => gate.promise);
    const controller = new AbortController();
    const queued = policy.execute(() => 'never', controller.signal);
    controller.abort(new Error('bye'));
    await expect(queued).rejects.toThrow('bye');
    expect(policy.queued).toBe(0);
    gate.resolve();
    await first;
    expect(policy.active).toBe(0);
  });

  it('validates its options', () => {
    expect(() => bulkhead({ maxConcurrent: 0 })).toThrow(/^maxConcurrent/);
    expect(() => bulkhead({} as never)).toThrow(/^maxConcurrent/);
    expect(() => bulkhead({ maxConcurrent: 1, maxQueue: -1 })).toThrow(/^maxQueue/);
    expect(() => bulkhead({ maxConcurrent: 1, queueTimeout: Number.NaN })).toThrow(/^queueTimeout/);
  });
});

describe('fallback', () => {
  it('answers with a value or a function of the outcome when the call fails', async () => {
    await expect(fallback('cached').execute(boom)).resolves.toBe('cached');
    await expect(fallback((o) => (o.ok ? 'no' : `after ${(o.error as Error).message}`)).execute(boom)).resolves.toBe('after boom');
    await expect(fallback('cached').execute(() => 'fresh')).resolves.toBe('fresh');
  });

  it('only for outcomes `on` accepts, results included', async () => {
    const onlyTimeouts = fallback('stale', { on: (o) => !o.ok && o.error instanceof TimeoutError });
    await expect(onlyTimeouts.execute(boom)).rejects.toThrow('boom');
    await expect(
      onlyTimeouts.execute(() => {
        throw new TimeoutError(5);
      }),
    ).resolves.toBe('stale');
    const emptyIsFailure = fallback(['default'], { on: (o) => o.ok && (o.value as string[]).length === 0 });
    await expect(emptyIsFailure.execute(() => [] as string[])).resolves.toEqual(['default']);
  });
});

describe('compose', () => {
  it('nests outermost first and threads attempt through', async () => {
    const order: string[] = [];
    const tracer = (name: string) => ({
      run<T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => T | PromiseLike<T>, ctx: { signal: AbortSignal; attempt: number }) {
        order.push(`${name}>`);
        return Promise.resolve()
          .then(() => fn(ctx))
          .finally(() => order.push(`<${name}`));
      },
    });
    const attempts: number[] = [];
    let n = 0;
    const policy = compose(tracer('a'), retry({ backoff: { type: 'constant', delay: 0 } }), tracer('b'));
    await policy.execute(({ attempt }) => {
      attempts.push(attempt);
      if (++n < 2) throw new Error('again');
      return 'ok';
    });
    expect(order).toEqual(['a>', 'b>', '<b', 'b>', '<b', '<a']);
    expect(attempts).toEqual([1, 2]);
  });

  it('retry outside a breaker stops retrying once the breaker opens', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock });
    let calls = 0;
    const policy = compose(
      fallback('fallback'),
      retry({ maxAttempts: 5, backoff: { type: 'constant', delay: 0 }, budget: false }),
      breaker,
      timeout(1000, { clock }),
    );
    await expect(
      policy.execute(() => {
        calls++;
        throw new Error('down');
      }),
    ).resolves.toBe('fallback');
    expect(calls).toBe(2);
    expect(breaker.state).toBe('open');
  });

  it('with no policies just runs fn, and rejects what is not a policy', async () => {
    await expect(compose().execute(() => 5)).resolves.toBe(5);
    await expect(compose().execute(boom)).rejects.toThrow('boom');
    expect(() => compose({} as never)).toThrow(/policies\[0\]/);
  });
});
