import { flushMicrotasks } from '../../../src/core/clock.js';

/** A promise the test settles by hand: a task that runs until the test says so. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void; fail: (error: unknown) => void } {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  return { promise, open: resolve, fail: reject };
}

/** Reads how `promise` has settled so far, after letting pending callbacks run. */
export async function stateOf(
  promise: Promise<unknown>,
): Promise<{ state: 'pending' } | { state: 'fulfilled'; value: unknown } | { state: 'rejected'; error: unknown }> {
  let seen: { state: 'fulfilled'; value: unknown } | { state: 'rejected'; error: unknown } | undefined;
  promise.then(
    (value) => {
      seen = { state: 'fulfilled', value };
    },
    (error: unknown) => {
      seen = { state: 'rejected', error };
    },
  );
  await flushMicrotasks();
  return seen ?? { state: 'pending' };
}

/** Counts functions running at once: wrap a task body with `track`, read `max` afterwards. */
export function concurrencyCounter(): { track: <T>(work: () => Promise<T>) => Promise<T>; readonly max: number; readonly now: number } {
  let now = 0;
  let max = 0;
  return {
    async track(work) {
      now++;
      max = Math.max(max, now);
      try {
        return await work();
      } finally {
        now--;
      }
    },
    get max() {
      return max;
    },
    get now() {
      return now;
    },
  };
}
