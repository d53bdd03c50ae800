/**
 * p-queue's abort bugs, reproduced on the real package next to nines passing the same scenario.
 * - sindresorhus/p-queue#241: a task added with an already-aborted signal to a busy queue never
 *   settles while the queue stays busy;
 * - sindresorhus/p-queue#219 (and #168 before it): a task whose signal aborts while it waits stays
 *   in the queue (`size` counts it) and its promise stays pending until a worker reaches it.
 * Both reproduce on p-queue 9.1.0 and were fixed in 9.1.1; the tests also run p-queue 10.0.0 (the
 * version the benchmark compares with), so a regression there shows. One difference remains on
 * 10.0.0, by its design: a task past its `timeout` frees its slot while its function still runs.
 */
import PQueue from 'p-queue';
import PQueue91 from 'p-queue-9.1.0';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sleep } from '../../../src/core/abort.js';
import { ManualClock } from '../../../src/core/clock.js';
import { QueueManager } from '../../../src/ratelimit/queue/index.js';
import { concurrencyCounter, gate, stateOf } from './helpers.js';

interface Subject {
  name: string;
  /** A queue of one worker; `size` counts the waiting tasks. */
  make(): { add(fn: () => unknown, options?: { signal?: AbortSignal }): Promise<unknown>; readonly size: number };
  /** Whether the library rejects aborted waiting tasks at once. */
  fixed: boolean;
}

/** A queue of `make` whose one worker is held by a task until `blocker.open()`. */
function busy(make: Subject['make']) {
  const queue = make();
  const blocker = gate();
  const running = queue.add(() => blocker.promise);
  return { queue, blocker, running };
}

const SUBJECTS: Subject[] = [
  { name: 'p-queue 9.1.0', make: () => new PQueue91({ concurrency: 1 }), fixed: false },
  { name: 'p-queue 10.0.0', make: () => new PQueue({ concurrency: 1 }), fixed: true },
  { name: 'nines', make: () => new QueueManager({ concurrency: 1 }), fixed: true },
];

describe.each(SUBJECTS)('$name: an aborted task in a busy queue', ({ make, fixed }) => {
  it(
    fixed
      ? 'rejects at once when its signal was aborted before add (#241)'
      : 'never settles while the queue is busy when its signal was aborted before add (#241)',
    async () => {
      const { queue, blocker, running } = busy(make);
      const controller = new AbortController();
      controller.abort();
      const aborted = queue.add(() => 'ran', { signal: controller.signal });
      aborted.catch(() => undefined);
      const state = await stateOf(aborted);
      if (fixed) {
        expect(state).toMatchObject({ state: 'rejected', error: { name: 'AbortError' } });
        expect(queue.size).toBe(0);
      } else {
        expect(state.state).toBe('pending');
        expect(queue.size).toBe(1);
      }
      blocker.open();
      await running;
      await expect(aborted).rejects.toMatchObject({ name: 'AbortError' }); // settled only once the worker got to it
    },
  );

  it(
    fixed
      ? 'leaves the queue the moment its signal aborts while it waits (#219)'
      : 'stays queued and pending after its signal aborts while it waits (#219)',
    async () => {
      const { queue, blocker, running } = busy(make);
      const controller = new AbortController();
      const waiting = Array.from({ length: 10 }, () => queue.add(() => 'ran', { signal: controller.signal }));
      for (const w of waiting) w.catch(() => undefined);
      expect(queue.size).toBe(10);
      controller.abort();
      const states = await Promise.all(waiting.map(stateOf));
      if (fixed) {
        expect(queue.size).toBe(0);
        for (const s of states) expect(s.state).toBe('rejected');
      } else {
        expect(queue.size).toBe(10);
        for (const s of states) expect(s.state).toBe('pending');
      }
      blocker.open();
      await running;
      for (const w of waiting) await expect(w).rejects.toMatchObject({ name: 'AbortError' });
    },
  );
});

describe('a task past its run timeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('p-queue 10.0.0 frees its slot while its function still runs: three functions at once with concurrency 1', async () => {
    vi.useFakeTimers(); // p-queue reads the global timers
    const queue = new PQueue({ concurrency: 1, timeout: 20 });
    const counter = concurrencyCounter();
    const stubborn = () => counter.track(() => new Promise<void>((resolve) => setTimeout(resolve, 100)));
    const results = [queue.add(stubborn), queue.add(stubborn), queue.add(stubborn)];
    for (const r of results) r.catch(() => undefined);
    await vi.advanceTimersByTimeAsync(60);
    expect(counter.now).toBe(3);
    await vi.advanceTimersByTimeAsync(200);
    expect(counter.max).toBe(3);
  });

  it('nines keeps the slot until the function returns: never more than concurrency at once', async () => {
    const clock = new ManualClock();
    const queue = new QueueManager({ concurrency: 1, runTimeout: 20, clock });
    const counter = concurrencyCounter();
    const stubborn = () => counter.track(() => sleep(100, new AbortController().signal, clock));
    const results = [queue.add(stubborn), queue.add(stubborn), queue.add(stubborn)];
    for (const r of results) r.catch(() => undefined);
    await clock.advance(60);
    expect(counter.now).toBe(1);
    await clock.advance(400);
    expect(counter.max).toBe(1);
    for (const r of results) await expect(r).rejects.toMatchObject({ code: 'NINES_QUEUE_RUN_TIMEOUT' });
  });
});
