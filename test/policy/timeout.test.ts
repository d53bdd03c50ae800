import { describe, expect, it } from 'vitest';
import { isNinesError, ManualClock, TimeoutError, timeout } from '../../src/policy/index.js';
import { deferred, rejection } from './helpers.js';

/** A function that resolves after `ms` on the clock unless its signal aborts first (then it rejects with the reason). */
const honouring =
  (clock: ManualClock, ms: number) =>
  ({ signal }: { signal: AbortSignal }) =>
    new Promise((resolve, reject) => {
      const t = clock.setTimeout(() => resolve('done'), ms);
      signal.addEventListener('abort', () => {
        t.clear();
        reject(signal.reason);
      });
    });

describe('timeout, cooperative', () => {
  it('passes a value through when the call is in time, and leaves no timer once its deadline passed', async () => {
    const clock = new ManualClock();
    const policy = timeout(1000, { clock });
    await expect(policy.execute(() => 'fast')).resolves.toBe('fast');
    await clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('aborts the inner signal at the deadline and throws TimeoutError once fn stops', async () => {
    const clock = new ManualClock();
    const result = timeout(1000, { clock }).execute(honouring(clock, 5000));
    await clock.advance(999);
    let settled = false;
    result.catch(() => undefined).finally(() => (settled = true));
    await clock.advance(0);
    expect(settled).toBe(false);
    await clock.advance(1);
    const error = await rejection(result);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(isNinesError(error, 'NINES_TIMEOUT')).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(1000);
  });

  it('waits for a function that ignores the signal, and returns its value', async () => {
    const clock = new ManualClock();
    const gate = deferred<string>();
    const result = timeout(1000, { clock }).execute(() => gate.promise);
    await clock.advance(2000);
    let settled = false;
    void result.finally(() => (settled = true));
    await clock.advance(0);
    expect(settled).toBe(false);
    gate.resolve('late');
    await expect(result).resolves.toBe('late');
  });

  it('a function that never reads the signal gets no AbortController, yet a late read sees it aborted', async () => {
    const clock = new ManualClock();
    const gate = deferred();
    let seen: AbortSignal | undefined;
    const result = timeout(100, { clock }).execute(async (ctx) => {
      await gate.promise;
      seen = ctx.signal;
      throw seen.reason;
    });
    await clock.advance(100);
    gate.resolve();
    expect(await rejection(result)).toBeInstanceOf(TimeoutError);
    expect(seen?.aborted).toBe(true);
  });

  it('passes the caller abort on to the inner signal', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const result = timeout(10_000, { clock }).execute(honouring(clock, 5000), controller.signal);
    await clock.advance(10);
    controller.abort(new Error('caller'));
    await expect(result).rejects.toThrow('caller');
  });

  it('keeps the attempt number of the outer context', async () => {
    const clock = new ManualClock();
    await expect(timeout(10, { clock }).run((ctx) => ctx.attempt, { signal: new AbortController().signal, attempt: 3 })).resolves.toBe(3);
  });
});

describe('timeout, aggressive', () => {
  it('rejects at the deadline without waiting for fn, and aborts its signal', async () => {
    const clock = new ManualClock();
    const gate = deferred<string>();
    let signal: AbortSignal | undefined;
    const result = timeout(1000, { strategy: 'aggressive', clock }).execute((ctx) => {
      signal = ctx.signal;
      return gate.promise;
    });
    await clock.advance(1000);
    expect(await rejection(result)).toBeInstanceOf(TimeoutError);
    expect(signal?.aborted).toBe(true);
    gate.reject(new Error('late failure is swallowed'));
  });

  it('returns values and errors of calls in time, sync or async', async () => {
    const clock = new ManualClock();
    const policy = timeout(1000, { strategy: 'aggressive', clock });
    await expect(policy.execute(() => 1)).resolves.toBe(1);
    await expect(policy.execute(async () => 2)).resolves.toBe(2);
    await expect(
      policy.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('passes the caller abort on to the signal fn holds', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const result = timeout(1000, { strategy: 'aggressive', clock }).execute((ctx) => {
      signal = ctx.signal;
      return deferred().promise;
    }, controller.signal);
    controller.abort(new Error('caller left'));
    await expect(result).rejects.toThrow('caller left');
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error | undefined)?.message).toBe('caller left');
  });

  it('rejects at once when the caller aborts', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const result = timeout(1000, { strategy: 'aggressive', clock }).execute(() => deferred().promise, controller.signal);
    controller.abort(new Error('stop'));
    await expect(result).rejects.toThrow('stop');
    await expect(timeout(10, { strategy: 'aggressive' }).execute(() => 1, AbortSignal.abort(new Error('pre')))).rejects.toThrow('pre');
  });

  it('serves many deadlines from one timer, firing each on time', async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { strategy: 'aggressive', clock });
    const settledAt: number[] = [];
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      calls.push(policy.execute(() => deferred().promise).catch(() => settledAt.push(clock.now())));
      await clock.advance(10);
    }
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(200);
    await Promise.all(calls);
    expect(settledAt).toEqual([100, 110, 120, 130, 140]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('validates its options', () => {
    expect(() => timeout(-1)).toThrow(/^timeout/);
    expect(() => timeout(Number.NaN)).toThrow(/^timeout/);
    expect(() => timeout(10, { strategy: 'eager' as 'aggressive' })).toThrow(/^strategy/);
  });
});
