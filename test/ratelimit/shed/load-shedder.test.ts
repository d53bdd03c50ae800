import { afterEach, describe, expect, it } from 'vitest';
import { isNinesError } from '../../../src/core/errors.js';
import { EventLoopLag } from '../../../src/health/event-loop-lag.js';
import { eventLoopReading, LoadShedder, LoadShedError, PRIORITIES, type Priority } from '../../../src/ratelimit/shed/index.js';
import { newShedder } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Which priorities `shedder` would shed now. */
const shedNow = (shedder: LoadShedder): Priority[] => PRIORITIES.filter((p) => shedder.isOverloaded(p));

describe('LoadShedder options', () => {
  it.each([
    [{ targetDelay: -1 }, /^targetDelay must be a number >= 0/],
    [{ interval: 0 }, /^interval must be a number >= 1/],
    [{ sampleInterval: 1.5 }, /^sampleInterval must be an integer/],
    [{ sampleInterval: 200 }, /^sampleInterval must not exceed interval \(100\), got 200/],
    [{ maxInFlight: 0 }, /^maxInFlight must be a number >= 1/],
    [{ maxQueueDepth: -1 }, /^maxQueueDepth must be a number >= 0/],
    [{ inFlight: 3 as unknown as () => number }, /^inFlight must be a function/],
    [{ levels: { low: 0 } }, /^levels.low must be a number/],
    [{ levels: { normal: 3 } }, /^levels.normal must not exceed the level of a higher priority \(2\), got 3/],
    [{ retryAfter: -5 }, /^retryAfter must be a number >= 0/],
    [{ name: '' }, /^name must be a non-empty string/],
  ])('rejects %o', (options, message) => {
    const error = (() => {
      try {
        newShedder(options);
      } catch (e) {
        return e;
      }
    })();
    expect(isNinesError(error, 'NINES_INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });
});

describe('LoadShedder on event-loop delay', () => {
  it('admits everything while the loop is responsive', () => {
    const { shedder, decisions } = newShedder();
    for (const p of PRIORITIES) expect(shedder.admit(p).admitted).toBe(true);
    expect(shedder.delayLimitMs).toBe(100);
    expect(decisions).toEqual(PRIORITIES.map((p) => [p, undefined]));
  });

  it('before the loop is overloaded, lets bursts through up to interval × level: low from 50 ms, normal 100, high 200, critical never', () => {
    const { shedder, loop } = newShedder();
    loop.delayMs = 50;
    expect(shedNow(shedder)).toEqual([]);
    loop.delayMs = 51;
    expect(shedNow(shedder)).toEqual(['low']);
    loop.delayMs = 101;
    expect(shedNow(shedder)).toEqual(['normal', 'low']);
    loop.delayMs = 201;
    expect(shedNow(shedder)).toEqual(['high', 'normal', 'low']);
    loop.delayMs = 1e9;
    expect(shedder.admit('critical').admitted).toBe(true);
    expect(shedder.admit('low')).toEqual({ admitted: false, priority: 'low', reason: 'event_loop_delay', retryAfterMs: 1000 });
  });

  it('counts the loop overloaded after a whole interval without a free window (CoDel), then holds normal work to targetDelay', async () => {
    const { shedder, loop, run, states } = newShedder();
    await run(90, false);
    expect(shedder.overloaded).toBe(false);
    await run(10, false);
    expect(shedder.overloaded).toBe(true);
    expect(shedder.delayLimitMs).toBe(20);
    expect(states).toEqual([
      [false, 100],
      [true, 20],
    ]);
    loop.delayMs = 11;
    expect(shedNow(shedder)).toEqual(['low']);
    loop.delayMs = 21;
    expect(shedNow(shedder)).toEqual(['normal', 'low']);
    loop.delayMs = 41;
    expect(shedNow(shedder)).toEqual(['high', 'normal', 'low']);
  });

  it('does not flap: one free window neither ends the overload nor does one busy window start it', async () => {
    const { shedder, run, states } = newShedder();
    await run(50, false);
    await run(10, true); // the loop drained its backlog once: the busy stretch starts again
    await run(90, false);
    expect(shedder.overloaded).toBe(false);
    await run(10, false);
    expect(shedder.overloaded).toBe(true);
    await run(90, true);
    expect(shedder.overloaded).toBe(true); // free, but not yet for a whole interval
    await run(10, false);
    await run(90, true);
    expect(shedder.overloaded).toBe(true);
    await run(10, true);
    expect(shedder.overloaded).toBe(false);
    expect(states.map(([o]) => o)).toEqual([false, true, false]);
  });

  it('sees a window without decisions as one window: a long blocked stretch counts as busy, a long quiet one as free', async () => {
    const { shedder, clock, loop } = newShedder();
    await clock.advance(500); // blocked: no decision could run, and the loop never idled
    expect(shedder.overloaded).toBe(true);
    loop.idleMs += 400;
    await clock.advance(500); // quiet, idle most of the time: a window longer than an interval, free
    expect(shedder.overloaded).toBe(false);
  });
});

describe('LoadShedder on in-flight work and queue depth', () => {
  it('holds normal work to maxInFlight, low to half, high to twice, critical to nothing; release is idempotent', () => {
    const { shedder } = newShedder({ maxInFlight: 4 });
    const a = shedder.admit('low');
    const b = shedder.admit('low');
    expect(shedder.admit('low')).toMatchObject({ admitted: false, reason: 'in_flight' });
    const more = [shedder.admit(), shedder.admit()];
    expect(more.every((x) => x.admitted)).toBe(true);
    expect(shedder.inFlight).toBe(4);
    expect(shedNow(shedder)).toEqual(['normal', 'low']);
    for (let i = 0; i < 4; i++) expect(shedder.admit('high').admitted).toBe(true);
    expect(shedNow(shedder)).toEqual(['high', 'normal', 'low']);
    expect(shedder.admit('critical').admitted).toBe(true);
    if (!a.admitted || !b.admitted) throw new Error('unreachable');
    a.release();
    a.release();
    expect(shedder.inFlight).toBe(8);
  });

  it('reads in-flight work from a source when given one (a RequestTracker, say)', () => {
    let inFlight = 0;
    const { shedder } = newShedder({ maxInFlight: 10, inFlight: () => inFlight });
    inFlight = 5;
    expect(shedNow(shedder)).toEqual(['low']);
    inFlight = 10;
    expect(shedNow(shedder)).toEqual(['normal', 'low']);
    expect(shedder.inFlight).toBe(10);
  });

  it('sheds on a queue depth: low from half of maxQueueDepth, normal from it, high from twice', () => {
    let depth = 0;
    const { shedder } = newShedder({ queueDepth: () => depth, maxQueueDepth: 10 });
    depth = 4;
    expect(shedNow(shedder)).toEqual([]);
    depth = 5;
    expect(shedNow(shedder)).toEqual(['low']);
    depth = 10;
    expect(shedder.admit()).toMatchObject({ admitted: false, reason: 'queue_depth' });
    depth = 20;
    expect(shedNow(shedder)).toEqual(['high', 'normal', 'low']);
  });

  it('applies custom levels', () => {
    const { shedder, loop } = newShedder({ levels: { critical: 8, high: 1, low: 0.25 } });
    loop.delayMs = 101;
    expect(shedNow(shedder)).toEqual(['high', 'normal', 'low']);
    loop.delayMs = 801;
    expect(shedNow(shedder)).toEqual(PRIORITIES);
  });
});

describe('LoadShedder.run', () => {
  it('runs admitted work and releases it, thrown or not', async () => {
    const { shedder } = newShedder({ maxInFlight: 1 });
    expect(await shedder.run(() => 'done')).toBe('done');
    await expect(
      shedder.run(() => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(shedder.inFlight).toBe(0);
  });

  it('rejects shed work with a LoadShedError carrying retryAfterMs, without calling fn', async () => {
    const { shedder, loop, decisions } = newShedder({ retryAfter: 2500 });
    loop.delayMs = 1000;
    let called = false;
    const error = await shedder.run(() => (called = true), 'high').catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(LoadShedError);
    expect(error).toMatchObject({ code: 'NINES_LOAD_SHED', priority: 'high', reason: 'event_loop_delay', retryAfterMs: 2500 });
    expect((error as Error).message).toBe('high work shed: event loop delay over its limit');
    expect(decisions).toEqual([['high', 'event_loop_delay']]);
  });

  it('isOverloaded counts no decision', () => {
    const { shedder, decisions } = newShedder();
    shedder.isOverloaded('low');
    expect(decisions).toEqual([]);
  });
});

describe('the event-loop reading', () => {
  it('reports the stretch the loop is blocked right now, and stops its timer on close', () => {
    const reading = eventLoopReading(10);
    cleanups.push(reading.close);
    const start = performance.now();
    while (performance.now() - start < 40) {
      // block the loop: the sampling timer cannot fire
    }
    // At least 40 ms blocked, less the 10 ms the timer was not yet due.
    expect(reading.delayMs).toBeGreaterThanOrEqual(30);
    expect(reading.idleMs).toBeGreaterThanOrEqual(0);
    reading.close();
    expect(reading.delayMs).toBe(0);
  });

  it('is what a shedder uses by default, stopped by close()', () => {
    const shedder = new LoadShedder();
    cleanups.push(() => shedder.close());
    expect(shedder.admit().admitted).toBe(true);
  });

  it('EventLoopLag.currentMs is 0 while stopped', () => {
    expect(new EventLoopLag().currentMs).toBe(0);
  });
});
