import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, createBackoff, ManualClock, parseRetryAfter, RetryBudget, retry } from '../../src/policy/index.js';
import { rejection } from './helpers.js';

/** A function failing `failures` times, then answering 'ok'; records the attempt numbers it saw. */
function flaky(failures: number) {
  const attempts: number[] = [];
  const fn = ({ attempt }: { attempt: number }) => {
    attempts.push(attempt);
    if (attempts.length <= failures) throw Object.assign(new Error(`fail ${attempts.length}`), {});
    return 'ok';
  };
  return { fn, attempts };
}

describe('retry', () => {
  it('maxAttempts counts every call, the first included', async () => {
    const { fn, attempts } = flaky(10);
    const error = await rejection(retry({ maxAttempts: 3, backoff: { type: 'constant', delay: 0 }, budget: false }).execute(fn));
    expect((error as Error).message).toBe('fail 3');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('returns as soon as a call succeeds, and maxAttempts 1 never retries', async () => {
    const { fn, attempts } = flaky(1);
    await expect(retry({ backoff: { type: 'constant', delay: 0 } }).execute(fn)).resolves.toBe('ok');
    expect(attempts).toEqual([1, 2]);
    const once = flaky(1);
    await expect(retry({ maxAttempts: 1 }).execute(once.fn)).rejects.toThrow('fail 1');
  });

  it('waits the backoff on the clock between attempts and emits retry events', async () => {
    const clock = new ManualClock();
    const { fn, attempts } = flaky(2);
    const policy = retry({ maxAttempts: 5, backoff: { type: 'exponential', initial: 100, multiplier: 2, jitter: 'none' }, clock });
    const events: Array<[number, number]> = [];
    policy.on('retry', (e) => events.push([e.attempt, e.delayMs]));
    const result = policy.execute(fn);
    await clock.advance(99);
    expect(attempts).toHaveLength(1);
    await clock.advance(1);
    expect(attempts).toHaveLength(2);
    await clock.advance(200);
    await expect(result).resolves.toBe('ok');
    expect(events).toEqual([
      [2, 100],
      [3, 200],
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('retries results when retryOn says so, and returns the last one when attempts run out', async () => {
    let n = 0;
    const policy = retry({ maxAttempts: 3, backoff: { type: 'constant', delay: 0 }, retryOn: (o) => o.ok && (o.value as number) < 0 });
    await expect(policy.execute(() => (++n < 3 ? -1 : 7))).resolves.toBe(7);
    n = -10;
    const gaveUp: string[] = [];
    policy.on('giveUp', (e) => gaveUp.push(`${e.reason}:${e.attempts}`));
    await expect(policy.execute(() => --n)).resolves.toBe(-13);
    expect(gaveUp).toEqual(['maxAttempts:3']);
  });

  it('does not retry errors retryOn rejects, nor a broken circuit by default', async () => {
    const { fn, attempts } = flaky(5);
    await expect(retry({ retryOn: () => false }).execute(fn)).rejects.toThrow('fail 1');
    expect(attempts).toEqual([1]);
    let calls = 0;
    const broken = () => {
      calls++;
      throw new BrokenCircuitError('db', 1000);
    };
    await expect(retry().execute(broken)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(calls).toBe(1);
  });

  it('honours retryAfterMs carried by an error when it is longer than the backoff', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const fn = () => {
      if (++calls === 1) throw Object.assign(new Error('429'), { retryAfterMs: 5000 });
      return 'ok';
    };
    const result = retry({ backoff: { type: 'constant', delay: 10 }, clock }).execute(fn);
    await clock.advance(4999);
    expect(calls).toBe(1);
    await clock.advance(1);
    await expect(result).resolves.toBe('ok');
  });

  it('an abort during the backoff sleep settles at once and leaves no timer', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const { fn, attempts } = flaky(5);
    const result = retry({ backoff: { type: 'constant', delay: 60_000 }, clock }).execute(fn, controller.signal);
    await clock.advance(10);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(new Error('caller gave up'));
    await expect(result).rejects.toThrow('caller gave up');
    expect(clock.pendingTimers).toBe(0);
    expect(attempts).toEqual([1]);
  });

  it('stops the loop when the signal aborts during an attempt', async () => {
    const controller = new AbortController();
    let calls = 0;
    const fn = () => {
      calls++;
      controller.abort();
      throw new Error('failed after abort');
    };
    await expect(retry({ backoff: { type: 'constant', delay: 0 } }).execute(fn, controller.signal)).rejects.toThrow('failed after abort');
    expect(calls).toBe(1);
    let called = false;
    const aborted = AbortSignal.abort(new Error('already'));
    await expect(retry().execute(() => (called = true), aborted)).rejects.toThrow('already');
    expect(called).toBe(false);
  });

  it('validates its options', () => {
    expect(() => retry({ maxAttempts: 0 })).toThrow(/^maxAttempts/);
    expect(() => retry({ maxAttempts: 2.5 })).toThrow(/^maxAttempts/);
    expect(() => retry({ backoff: { type: 'constant', delay: -1 } })).toThrow(/^backoff\.delay/);
    expect(() => retry({ backoff: { type: 'exponential', multiplier: Number.NaN } })).toThrow(/^backoff\.multiplier/);
    expect(() => retry({ backoff: { type: 'exponential', initial: 100, max: 10 } })).toThrow(/^backoff\.max/);
    expect(() => retry({ backoff: { type: 'exponential', jitter: 'wild' as 'full' } })).toThrow(/^backoff\.jitter/);
    expect(() => retry({ budget: { ratio: -0.1 } })).toThrow(/^budget\.ratio/);
    expect(() => retry({ retryOn: 5 as never })).toThrow(/^retryOn/);
  });
});

describe('backoff jitter', () => {
  const samples = (b: ReturnType<typeof createBackoff>, retry: number, previous = 0) =>
    Array.from({ length: 5000 }, () => b(retry, previous));

  it('none gives the exact exponential series, capped', () => {
    const b = createBackoff({ type: 'exponential', initial: 100, multiplier: 3, max: 1000, jitter: 'none' });
    expect([1, 2, 3, 4].map((r) => b(r, 0))).toEqual([100, 300, 900, 1000]);
  });

  it('full stays within [0, ceiling) and spreads across it', () => {
    const s = samples(createBackoff({ type: 'exponential', initial: 100, multiplier: 2, max: 10_000, jitter: 'full' }), 3);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...s)).toBeLessThan(400);
    expect(Math.min(...s)).toBeLessThan(40);
    expect(Math.max(...s)).toBeGreaterThan(360);
  });

  it('equal stays within [ceiling/2, ceiling)', () => {
    const s = samples(createBackoff({ type: 'exponential', initial: 100, multiplier: 2, max: 10_000, jitter: 'equal' }), 3);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...s)).toBeLessThan(400);
    expect(Math.min(...s)).toBeLessThan(220);
  });

  it('decorrelated stays within [initial, previous × multiplier] and under the cap', () => {
    const b = createBackoff({ type: 'exponential', initial: 100, multiplier: 3, max: 2000, jitter: 'decorrelated' });
    const s = samples(b, 5, 500);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...s)).toBeLessThanOrEqual(1500);
    expect(Math.max(...samples(b, 5, 5000))).toBeLessThanOrEqual(2000);
  });

  it('uses the injected random source', () => {
    const b = createBackoff({ type: 'exponential', initial: 100, jitter: 'full' }, () => 0.5);
    expect(b(2, 0)).toBe(100);
  });
});

describe('retry budget', () => {
  it('caps retries under a sustained failure to the floor plus the ratio of calls', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 1, window: 10_000, clock });
    const policy = retry({ maxAttempts: 3, backoff: { type: 'constant', delay: 0 }, budget, clock });
    let calls = 0;
    const fail = () => {
      calls++;
      throw new Error('down');
    };
    for (let i = 0; i < 200; i++) await policy.execute(fail).catch(() => undefined);
    // 200 first attempts; retries allowed: 10 (1/s × 10 s) + 10 % of 200 = 30, instead of 400 without a budget
    expect(calls - 200).toBe(30);
  });

  it('refills as the window slides', async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, window: 10_000, clock });
    for (let i = 0; i < 10; i++) expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    await clock.advance(10_000);
    expect(budget.tryRetry()).toBe(true);
  });

  it('emits giveUp with reason budget', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, clock: new ManualClock() });
    const policy = retry({ budget, backoff: { type: 'constant', delay: 0 } });
    const reasons: string[] = [];
    policy.on('giveUp', (e) => reasons.push(e.reason));
    await expect(policy.execute(flaky(5).fn)).rejects.toThrow('fail 1');
    expect(reasons).toEqual(['budget']);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP-dates, and ignores what it cannot read', () => {
    const now = Date.parse('Tue, 24 Nov 2026 12:00:00 GMT');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
