import { describe, expect, it } from 'vitest';
import { BrokenCircuitError, CircuitBreaker, isNinesError, ManualClock } from '../../src/policy/index.js';
import { boom, deferred, ok, rejection } from './helpers.js';

const fail = (b: CircuitBreaker) => b.execute(boom).catch(() => undefined);
const succeed = (b: CircuitBreaker) => b.execute(ok);

describe('CircuitBreaker, consecutive mode', () => {
  it('opens after failureThreshold consecutive failures and rejects without calling fn', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, clock });
    await fail(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('closed');
    await fail(breaker);
    expect(breaker.state).toBe('open');
    let called = false;
    const error = await rejection(
      breaker.execute(() => {
        called = true;
      }),
    );
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(isNinesError(error, 'NINES_BREAKER_OPEN')).toBe(true);
    expect((error as BrokenCircuitError).retryAfterMs).toBe(60_000);
    expect(breaker.stats()).toMatchObject({ calls: 3, failures: 3, rejections: 1, state: 'open' });
  });

  it('a success resets the count', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: new ManualClock() });
    await fail(breaker);
    await succeed(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('closed');
    await fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('forgets failures older than resetTimeout', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeout: 1000, clock });
    await fail(breaker);
    await clock.advance(1000);
    await fail(breaker);
    expect(breaker.state).toBe('closed');
    await clock.advance(999);
    await fail(breaker);
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker, half-open', () => {
  async function openBreaker(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, openDuration: 1000, clock, ...options });
    await fail(breaker);
    expect(breaker.state).toBe('open');
    return { clock, breaker };
  }

  it('goes half-open after openDuration and closes after successThreshold successes', async () => {
    const { clock, breaker } = await openBreaker();
    await clock.advance(999);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(breaker.state).toBe('half-open');
    await succeed(breaker);
    expect(breaker.state).toBe('half-open');
    await succeed(breaker);
    expect(breaker.state).toBe('closed');
  });

  it('one failed probe reopens it for another openDuration', async () => {
    const { clock, breaker } = await openBreaker();
    await clock.advance(1000);
    await succeed(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('open');
    await clock.advance(999);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it('lets halfOpenMaxCalls probes through at once and rejects the rest immediately', async () => {
    const { clock, breaker } = await openBreaker({ halfOpenMaxCalls: 2, successThreshold: 2 });
    await clock.advance(1000);
    const gates = [deferred(), deferred()];
    const probes = gates.map((g) => breaker.execute(() => g.promise));
    const extra = await rejection(breaker.execute(ok));
    expect(extra).toBeInstanceOf(BrokenCircuitError);
    expect((extra as BrokenCircuitError).retryAfterMs).toBe(0);
    gates[0]?.resolve();
    await probes[0];
    // the finished probe frees its permit for the next caller
    const third = deferred();
    const probe3 = breaker.execute(() => third.promise);
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(BrokenCircuitError);
    gates[1]?.resolve();
    await probes[1];
    expect(breaker.state).toBe('closed');
    third.resolve();
    await probe3;
    expect(breaker.stats().rejections).toBe(2);
  });

  it('grows the open duration after failed probes, capped, and resets it on close', async () => {
    const { clock, breaker } = await openBreaker({ openDurationGrowth: { multiplier: 2, max: 3000 }, successThreshold: 1 });
    const openFor = async () => {
      let ms = 0;
      while (breaker.state === 'open') {
        await clock.advance(100);
        ms += 100;
      }
      return ms;
    };
    expect(await openFor()).toBe(1000);
    await fail(breaker);
    expect(await openFor()).toBe(2000);
    await fail(breaker);
    expect(await openFor()).toBe(3000);
    await fail(breaker);
    expect(await openFor()).toBe(3000);
    await succeed(breaker);
    expect(breaker.state).toBe('closed');
    await fail(breaker);
    expect(await openFor()).toBe(1000);
  });

  it('ignores outcomes of calls that started before the last state change', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDuration: 1000, clock });
    const slow = deferred();
    const late = breaker.execute(() => slow.promise);
    await fail(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('open');
    await clock.advance(1000);
    await succeed(breaker);
    slow.reject(new Error('late'));
    await late.catch(() => undefined);
    expect(breaker.state).toBe('half-open');
  });
});

describe('CircuitBreaker, isolate and reset', () => {
  it('isolate holds it open until every handle is released, then closes', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    const a = breaker.isolate();
    const b = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    const error = await rejection(breaker.execute(ok));
    expect(isNinesError(error, 'NINES_BREAKER_ISOLATED')).toBe(true);
    a.release();
    a.release();
    expect(breaker.state).toBe('isolated');
    b.release();
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
  });

  it('reset closes an open or isolated breaker and clears the window', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, clock: new ManualClock() });
    await fail(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('open');
    breaker.reset();
    expect(breaker.state).toBe('closed');
    await fail(breaker);
    expect(breaker.state).toBe('closed');
    breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker, events and predicates', () => {
  it('emits stateChange, success, failure and reject', async () => {
    const clock = new ManualClock(5);
    const breaker = new CircuitBreaker({ failureThreshold: 1, clock });
    const seen: string[] = [];
    breaker.on('stateChange', (e) => seen.push(`${e.from}->${e.to}@${e.at}`));
    breaker.on('success', () => seen.push('success'));
    const offFailure = breaker.on('failure', (e) => seen.push(`failure:${(e.error as Error).message}`));
    breaker.on('reject', (e) => seen.push(`reject:${e.state}`));
    await succeed(breaker);
    await fail(breaker);
    await breaker.execute(ok).catch(() => undefined);
    offFailure();
    breaker.reset();
    await fail(breaker);
    expect(seen).toEqual(['success', 'failure:boom', 'closed->open@5', 'reject:open', 'open->closed@5', 'closed->open@5']);
  });

  it('a listener that throws does not break the call', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    breaker.on('success', () => {
      throw new Error('listener bug');
    });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings.map((w) => w.message)).toContain('listener bug');
  });

  it('shouldHandle picks which errors count; others count as successes', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      clock: new ManualClock(),
      shouldHandle: (o) => !o.ok && (o.error as Error).message !== 'not found',
    });
    for (let i = 0; i < 5; i++) {
      await breaker
        .execute(() => {
          throw new Error('not found');
        })
        .catch(() => undefined);
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.stats()).toMatchObject({ successes: 5, failures: 0 });
  });

  it('shouldHandle can treat a result as a failure and still return it', async () => {
    const breaker = new CircuitBreaker({
      failureThreshold: 2,
      clock: new ManualClock(),
      shouldHandle: (o) => !o.ok || (o.value as { status: number }).status >= 500,
    });
    await expect(breaker.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    await breaker.execute(() => ({ status: 503 }));
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker, sliding windows', () => {
  it('count mode opens at the failure rate once minimumThroughput calls are in the window', async () => {
    const breaker = new CircuitBreaker({
      mode: 'count',
      windowSize: 10,
      failureRateThreshold: 50,
      minimumThroughput: 6,
      clock: new ManualClock(),
    });
    for (let i = 0; i < 5; i++) await fail(breaker);
    expect(breaker.state).toBe('closed'); // 5 calls < minimumThroughput
    await succeed(breaker);
    expect(breaker.state).toBe('closed'); // a success never opens on failure rate
    await fail(breaker);
    expect(breaker.state).toBe('open'); // 6/7 failed
  });

  it('count mode slides: old failures leave the window', async () => {
    const breaker = new CircuitBreaker({
      mode: 'count',
      windowSize: 4,
      failureRateThreshold: 75,
      minimumThroughput: 4,
      clock: new ManualClock(),
    });
    await fail(breaker);
    await fail(breaker);
    for (let i = 0; i < 4; i++) await succeed(breaker);
    await fail(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('closed'); // window holds s s f f = 50 %
    await fail(breaker);
    expect(breaker.state).toBe('open'); // s f f f = 75 %
  });

  it('slow calls count toward slowCallRateThreshold', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      mode: 'count',
      windowSize: 4,
      minimumThroughput: 4,
      slowCallDuration: 100,
      slowCallRateThreshold: 50,
      clock,
    });
    const slowCall = async () => {
      const p = breaker.execute(() => new Promise((r) => clock.setTimeout(() => r('slow'), 150)));
      await clock.advance(150);
      return p;
    };
    await succeed(breaker);
    await succeed(breaker);
    await slowCall();
    expect(breaker.state).toBe('closed');
    await slowCall();
    expect(breaker.state).toBe('open');
  });

  it('time mode forgets samples older than the window even after an idle gap', async () => {
    // cockatiel's SamplingBreaker keeps the 100 old successes here and never opens.
    const clock = new ManualClock(1_000_000);
    const breaker = new CircuitBreaker({ mode: 'time', windowDuration: 10_000, failureRateThreshold: 50, minimumThroughput: 5, clock });
    for (let i = 0; i < 100; i++) await succeed(breaker);
    await clock.advance(60_000);
    for (let i = 0; i < 10 && breaker.state === 'closed'; i++) await fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('time mode counts calls spread over the window and drops them as it slides', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({
      mode: 'time',
      windowDuration: 10_000,
      windowBuckets: 10,
      failureRateThreshold: 50,
      minimumThroughput: 4,
      clock,
    });
    await fail(breaker);
    await fail(breaker);
    await clock.advance(5_000);
    await succeed(breaker);
    await succeed(breaker);
    await succeed(breaker);
    await clock.advance(5_000); // the two failures are now outside the window
    await fail(breaker);
    await fail(breaker);
    expect(breaker.state).toBe('closed'); // 2 of 5 failed: the first two failures no longer count
    await fail(breaker);
    expect(breaker.state).toBe('open'); // 3 of 6 = 50 %
  });
});
