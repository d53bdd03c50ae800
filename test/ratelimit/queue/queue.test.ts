import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../../src/core/abort.js';
import { flushMicrotasks, ManualClock } from '../../../src/core/clock.js';
import { InvalidOptionError, isNinesError, NinesError } from '../../../src/core/errors.js';
import { QueueClosedError, QueueFullError, QueueManager, QueueTimeoutError } from '../../../src/ratelimit/queue/index.js';
import { concurrencyCounter, gate, stateOf } from './helpers.js';

describe('QueueManager ordering', () => {
  it('runs higher priorities first and equal priorities in the order they were added', async () => {
    const queue = new QueueManager({ paused: true });
    const order: string[] = [];
    const add = (name: string, priority?: number) => queue.add(() => order.push(name), priority === undefined ? undefined : { priority });
    add('a0');
    add('b5', 5);
    add('c0');
    add('d5', 5);
    add('e-1', -1);
    add('f10', 10);
    add('g0', 0);
    queue.resume();
    await queue.onIdle();
    expect(order).toEqual(['f10', 'b5', 'd5', 'a0', 'c0', 'g0', 'e-1']);
  });

  it('is a stable sort of any mix of priorities, with tasks leaving at random', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ priority: fc.integer({ min: -3, max: 3 }), leaves: fc.boolean() }), { maxLength: 60 }),
        async (specs) => {
          const queue = new QueueManager({ paused: true });
          const order: number[] = [];
          const controllers = specs.map((spec, i) => {
            const controller = new AbortController();
            queue.add(() => order.push(i), { priority: spec.priority, signal: controller.signal }).catch(() => undefined);
            return controller;
          });
          specs.forEach((spec, i) => {
            if (spec.leaves) controllers[i]?.abort();
          });
          queue.resume();
          await queue.onIdle();
          const expected = specs
            .map((spec, i) => ({ ...spec, i }))
            .filter((s) => !s.leaves)
            .sort((a, b) => b.priority - a.priority || a.i - b.i)
            .map((s) => s.i);
          expect(order).toEqual(expected);
        },
      ),
    );
  });
});

describe('QueueManager concurrency', () => {
  it('never runs more than `concurrency` functions at once, and uses every worker', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 3, clock });
    const counter = concurrencyCounter();
    const durations = [5, 1, 9, 2, 2, 7, 3, 1, 1, 8, 4, 6, 2, 5, 3, 1, 9, 2, 4, 4];
    const done = durations.map((ms) => queue.add(({ signal }) => counter.track(() => sleep(ms, signal, clock))));
    expect(queue.running).toBe(3);
    expect(queue.size).toBe(durations.length - 3);
    await clock.advance(100);
    await Promise.all(done);
    expect(counter.max).toBe(3);
    expect(queue.running).toBe(0);
  });

  it('keeps a timed-out function in its slot until it returns, so the limit holds even for a function that ignores its signal', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 1, runTimeout: 20, clock });
    const counter = concurrencyCounter();
    const stubborn = () => counter.track(() => sleep(100, new AbortController().signal, clock)); // ignores the queue's signal
    const results = [queue.add(stubborn), queue.add(stubborn), queue.add(stubborn)];
    await clock.advance(20);
    expect(await stateOf(results[0] as Promise<void>)).toMatchObject({ state: 'rejected', error: { code: 'NINES_QUEUE_RUN_TIMEOUT' } });
    expect(queue.running).toBe(1); // its function is still running
    expect(queue.size).toBe(2);
    await clock.advance(400);
    for (const result of results) await expect(result).rejects.toBeInstanceOf(QueueTimeoutError);
    expect(counter.max).toBe(1);
  });

  it('starts a task added by a running task behind the tasks already waiting', async () => {
    const queue = new QueueManager({ concurrency: 2, paused: true });
    const order: string[] = [];
    queue.add(() => {
      order.push('a');
      queue.add(() => order.push('nested'));
    });
    queue.add(() => order.push('b'));
    queue.add(() => order.push('c'));
    queue.resume();
    await queue.onIdle();
    expect(order).toEqual(['a', 'b', 'c', 'nested']);
  });
});

describe('QueueManager results and errors', () => {
  it('settles with what the function returns or throws, sync or async', async () => {
    const queue = new QueueManager({ concurrency: 2 });
    const boom = new Error('boom');
    await expect(queue.add(() => 1)).resolves.toBe(1);
    await expect(queue.add(async () => 2)).resolves.toBe(2);
    await expect(
      queue.add(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(queue.add(async () => Promise.reject(boom))).rejects.toBe(boom);
  });

  it('lets no task error become an unhandled rejection: ignored failures, refusals and a function failing after its timeout', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const clock = new ManualClock();
      const queue = new QueueManager({ concurrency: 1, maxQueue: 1, runTimeout: 10, clock });
      const late = gate();
      queue.add(() => late.promise); // fails after its timeout
      queue.add(() => {
        throw new Error('ignored');
      });
      queue.add(() => undefined); // refused: full
      const aborted = new AbortController();
      aborted.abort();
      queue.add(() => undefined, { signal: aborted.signal });
      await clock.advance(10);
      late.fail(new Error('too late'));
      await queue.drain();
      queue.add(() => undefined); // refused: closed
      await new Promise((resolve) => setImmediate(resolve)); // Node reports unhandled rejections after the microtask queue drains
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('QueueManager timeouts', () => {
  it('takes a task out when it has waited `waitTimeout`, without running it', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 1, waitTimeout: 50, clock });
    const blocker = gate();
    queue.add(() => blocker.promise);
    let ran = false;
    const waiting = queue.add(() => {
      ran = true;
    });
    await clock.advance(49);
    expect((await stateOf(waiting)).state).toBe('pending');
    await clock.advance(1);
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueTimeoutError);
    expect(error).toMatchObject({ code: 'NINES_QUEUE_WAIT_TIMEOUT', phase: 'wait', timeoutMs: 50 });
    expect(queue.size).toBe(0);
    blocker.open();
    await queue.onIdle();
    expect(ran).toBe(false);
  });

  it('counts the wait from when each task was added, and stops counting when it starts', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 1, waitTimeout: 50, clock });
    const first = gate();
    queue.add(() => first.promise);
    await clock.advance(30);
    const second = queue.add(({ signal }) => sleep(100, signal, clock)); // starts at 40, then runs 100 ms
    const third = queue.add(() => 'third');
    await clock.advance(10);
    first.open();
    await clock.advance(40); // t = 80: third has waited 50
    await expect(third).rejects.toMatchObject({ code: 'NINES_QUEUE_WAIT_TIMEOUT' });
    await clock.advance(100);
    await expect(second).resolves.toBeUndefined();
  });

  it('aborts a task that ran `runTimeout`, with the timeout error as the signal reason', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 1, runTimeout: 100, clock });
    let seen: AbortSignal | undefined;
    const result = queue.add(async ({ signal }) => {
      seen = signal;
      await sleep(1000, signal, clock);
    });
    await clock.advance(99);
    expect(seen?.aborted).toBe(false);
    await clock.advance(1);
    const error = await result.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NINES_QUEUE_RUN_TIMEOUT', phase: 'run', timeoutMs: 100 });
    expect(seen?.reason).toBe(error);
    await queue.onIdle();
    expect(queue.running).toBe(0);
  });

  it('gives a function that reads its signal only after the timeout a signal born aborted', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ runTimeout: 10, clock });
    const go = gate();
    let late: AbortSignal | undefined;
    const result = queue.add(async (context) => {
      await go.promise;
      late = context.signal;
    });
    await clock.advance(10);
    go.open();
    await expect(result).rejects.toMatchObject({ code: 'NINES_QUEUE_RUN_TIMEOUT' });
    await queue.onIdle();
    expect(late?.aborted).toBe(true);
  });
});

describe('QueueManager maxQueue', () => {
  it('refuses a task once `maxQueue` tasks wait, with QueueFullError, and takes one again when room frees up', async () => {
    const queue = new QueueManager({ concurrency: 1, maxQueue: 2 });
    const blocker = gate();
    queue.add(() => blocker.promise);
    const queued = [queue.add(() => 'a'), queue.add(() => 'b')];
    const refused = queue.add(() => 'c');
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toBeInstanceOf(NinesError);
    expect(isNinesError(error, 'NINES_QUEUE_FULL')).toBe(true);
    expect(error).toMatchObject({ maxQueue: 2 });
    blocker.open();
    await expect(Promise.all(queued)).resolves.toEqual(['a', 'b']);
    await expect(queue.add(() => 'd')).resolves.toBe('d');
  });

  it('with maxQueue 0 runs what a worker can take and refuses the rest', async () => {
    const queue = new QueueManager({ concurrency: 1, maxQueue: 0 });
    const blocker = gate();
    const running = queue.add(() => blocker.promise);
    await expect(queue.add(() => undefined)).rejects.toMatchObject({ code: 'NINES_QUEUE_FULL' });
    blocker.open();
    await running;
  });
});

describe('QueueManager abort', () => {
  it('rejects at once with the reason of a signal aborted before add, and queues nothing', async () => {
    const queue = new QueueManager({ concurrency: 1 });
    const blocker = gate();
    queue.add(() => blocker.promise);
    const controller = new AbortController();
    const reason = new Error('caller gone');
    controller.abort(reason);
    let ran = false;
    const result = queue.add(
      () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    expect(await stateOf(result)).toEqual({ state: 'rejected', error: reason });
    expect(queue.size).toBe(0);
    blocker.open();
    await queue.onIdle();
    expect(ran).toBe(false);
  });

  it('takes a waiting task out the moment its signal aborts; the tasks behind it move up', async () => {
    const queue = new QueueManager({ concurrency: 1 });
    const blocker = gate();
    queue.add(() => blocker.promise);
    const controller = new AbortController();
    const order: string[] = [];
    const leaving = queue.add(() => order.push('leaving'), { signal: controller.signal });
    const staying = queue.add(() => order.push('staying'));
    expect(queue.size).toBe(2);
    controller.abort();
    expect(queue.size).toBe(1);
    const outcome = await stateOf(leaving);
    expect(outcome).toMatchObject({ state: 'rejected', error: { name: 'AbortError' } });
    blocker.open();
    await staying;
    expect(order).toEqual(['staying']);
  });

  it('rejects a running task at once when its signal aborts, aborts the signal its function holds, and keeps the slot until it returns', async () => {
    const clock = new ManualClock();
    for (const runTimeout of [undefined, 1000]) {
      const queue = new QueueManager({ concurrency: 1, clock, ...(runTimeout ? { runTimeout } : {}) });
      const controller = new AbortController();
      const seen: AbortSignal[] = [];
      const finish = gate();
      const result = queue.add(
        async ({ signal }) => {
          seen.push(signal);
          await finish.promise; // ignores the abort for a while
        },
        { signal: controller.signal },
      );
      let nextRan = false;
      const next = queue.add(() => {
        nextRan = true;
      });
      controller.abort('stop');
      expect(await stateOf(result)).toEqual({ state: 'rejected', error: 'stop' });
      expect(seen[0]?.aborted).toBe(true);
      expect(seen[0]?.reason).toBe('stop');
      expect(nextRan).toBe(false);
      finish.open();
      await next;
      expect(nextRan).toBe(true);
    }
  });

  it('listens once per signal however many tasks share it, and stops listening when they are done', async () => {
    const queue = new QueueManager({ concurrency: 2 });
    const shared = new AbortController();
    const blocker = gate();
    const results = Array.from({ length: 500 }, () => queue.add(() => blocker.promise, { signal: shared.signal }));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    blocker.open();
    await Promise.all(results);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('one abort takes every waiting task of the signal out and rejects the running ones', async () => {
    const queue = new QueueManager({ concurrency: 2 });
    const shared = new AbortController();
    const blocker = gate();
    const results = Array.from({ length: 10 }, () => queue.add(() => blocker.promise, { signal: shared.signal }));
    shared.abort();
    expect(queue.size).toBe(0);
    for (const result of results) expect((await stateOf(result)).state).toBe('rejected');
    blocker.open();
    await queue.onIdle();
  });
});

describe('QueueManager pause, resume, onIdle and drain', () => {
  it('pause lets running tasks finish and starts nothing new until resume', async () => {
    const queue = new QueueManager({ concurrency: 1 });
    const blocker = gate();
    const first = queue.add(() => blocker.promise);
    let secondRan = false;
    const second = queue.add(() => {
      secondRan = true;
    });
    queue.pause();
    expect(queue.paused).toBe(true);
    blocker.open();
    await first;
    await flushMicrotasks();
    expect(secondRan).toBe(false);
    expect(queue.size).toBe(1);
    queue.resume();
    queue.resume(); // harmless twice
    await second;
    expect(secondRan).toBe(true);
  });

  it('a queue created paused starts nothing, and still times out and aborts waiting tasks', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ paused: true, waitTimeout: 10, clock });
    const result = queue.add(() => 'never');
    expect(queue.running).toBe(0);
    await clock.advance(10);
    await expect(result).rejects.toMatchObject({ code: 'NINES_QUEUE_WAIT_TIMEOUT' });
    await queue.onIdle(); // nothing waits any more
  });

  it('onIdle resolves at once when idle, and otherwise when nothing waits or runs, failures included', async () => {
    const queue = new QueueManager({ concurrency: 2 });
    await queue.onIdle();
    const gates = [gate(), gate(), gate()];
    for (const g of gates) queue.add(() => g.promise).catch(() => undefined);
    const idle = queue.onIdle();
    gates[0]?.open();
    gates[1]?.fail(new Error('x'));
    expect((await stateOf(idle)).state).toBe('pending');
    gates[2]?.open();
    await idle;
    expect(queue.size + queue.running).toBe(0);
  });

  it('drain refuses new tasks with QueueClosedError and resolves when the accepted ones have settled', async () => {
    const queue = new QueueManager({ concurrency: 1 });
    const blocker = gate();
    const accepted = [queue.add(() => blocker.promise), queue.add(() => 'waiting')];
    const drained = queue.drain();
    await expect(queue.add(() => 'late')).rejects.toBeInstanceOf(QueueClosedError);
    await expect(queue.add(() => 'late')).rejects.toMatchObject({ code: 'NINES_QUEUE_CLOSED' });
    expect((await stateOf(drained)).state).toBe('pending');
    blocker.open();
    await drained;
    await expect(Promise.all(accepted)).resolves.toEqual([undefined, 'waiting']);
  });
});

describe('QueueManager rate cap', () => {
  it('starts at most `limit` tasks in any `interval`, and the next one exactly when the oldest start leaves the window', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 100, rateCap: { limit: 2, interval: 1000 }, clock });
    const starts: number[] = [];
    const results = Array.from({ length: 5 }, () => queue.add(() => starts.push(clock.now())));
    expect(starts).toEqual([0, 0]);
    await clock.advance(999);
    expect(starts).toEqual([0, 0]);
    await clock.advance(1);
    expect(starts).toEqual([0, 0, 1000, 1000]);
    await clock.advance(1000);
    expect(starts).toEqual([0, 0, 1000, 1000, 2000]);
    await Promise.all(results);
  });

  it('slides: starts spread over the window free their places one by one, never 2 × limit across an edge', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 100, rateCap: { limit: 3, interval: 1000 }, clock });
    const starts: number[] = [];
    const task = () => starts.push(clock.now());
    queue.add(task); // t = 0
    await clock.set(600);
    queue.add(task);
    queue.add(task); // t = 600: the window holds 3
    const burst = Array.from({ length: 6 }, () => queue.add(task));
    await clock.set(999);
    expect(starts).toEqual([0, 600, 600]);
    await clock.set(1000); // the start at 0 leaves the window
    expect(starts).toEqual([0, 600, 600, 1000]);
    await clock.set(1599);
    expect(starts).toHaveLength(4);
    await clock.set(1600);
    expect(starts).toEqual([0, 600, 600, 1000, 1600, 1600]);
    await clock.set(5000);
    await Promise.all(burst);
    for (const t of starts) expect(starts.filter((s) => s > t - 1000 && s <= t).length).toBeLessThanOrEqual(3);
  });

  it('an aborted waiting task uses no place in the window, and no timer is left once nothing waits', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 10, rateCap: { limit: 1, interval: 1000 }, clock });
    const starts: string[] = [];
    queue.add(() => starts.push('first'));
    const controller = new AbortController();
    const aborted = Array.from({ length: 5 }, () => queue.add(() => starts.push('aborted'), { signal: controller.signal }));
    const kept = queue.add(() => starts.push('kept'));
    controller.abort();
    for (const a of aborted) expect((await stateOf(a)).state).toBe('rejected');
    await clock.advance(1000);
    await kept;
    expect(starts).toEqual(['first', 'kept']);
    const lone = new AbortController();
    const waiting = queue.add(() => undefined, { signal: lone.signal });
    expect(clock.pendingTimers).toBe(1);
    lone.abort();
    await waiting.catch(() => undefined);
    expect(clock.pendingTimers).toBe(0);
  });

  it('resumes a paused queue within the cap', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ rateCap: { limit: 1, interval: 100 }, concurrency: 5, paused: true, clock });
    const starts: number[] = [];
    for (let i = 0; i < 3; i++) queue.add(() => starts.push(clock.now()));
    await clock.advance(50);
    queue.resume();
    await clock.advance(300);
    expect(starts).toEqual([50, 150, 250]);
  });
});

describe('QueueManager options', () => {
  it.each([
    [{ concurrency: 0 }, 'concurrency'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ maxQueue: -1 }, 'maxQueue'],
    [{ waitTimeout: 0 }, 'waitTimeout'],
    [{ runTimeout: Number.POSITIVE_INFINITY }, 'runTimeout'],
    [{ rateCap: { limit: 0, interval: 1000 } }, 'rateCap.limit'],
    [{ rateCap: { limit: 1, interval: Number.NaN } }, 'rateCap.interval'],
    [{ rateCap: null as never }, 'rateCap'],
  ])('refuses %j with an InvalidOptionError naming %s', (options, name) => {
    expect(() => new QueueManager(options)).toThrow(InvalidOptionError);
    expect(() => new QueueManager(options)).toThrow(new RegExp(`^${name.replace('.', '\\.')}`));
  });

  it('refuses a task that is not a function, or a priority that is not a number, at the call', () => {
    const queue = new QueueManager();
    expect(() => queue.add('x' as never)).toThrow(/^fn must be a function/);
    expect(() => queue.add(() => 1, { priority: Number.NaN })).toThrow(/^priority/);
  });
});
