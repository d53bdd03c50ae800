/** Shared helpers for the fallback tests. */
import { ManualClock } from '../../../src/core/clock.js';

/** An origin whose calls are counted; `next` sets what the next calls return or throw. */
export function origin<T>(first: T) {
  let result: { value: T } | { error: unknown } = { value: first };
  const o = {
    calls: 0,
    /** Every call from now on answers `value`. */
    answer(value: T) {
      result = { value };
    },
    /** Every call from now on throws `error`. */
    fail(error: unknown = new Error('origin down')) {
      result = { error };
    },
    fn: async (): Promise<T> => {
      o.calls++;
      await Promise.resolve();
      if ('error' in result) throw result.error;
      return result.value;
    },
  };
  return o;
}

/** An origin whose calls all wait on one gate; `open(value)` lets them through. */
export function gatedOrigin<T>() {
  const gate = Promise.withResolvers<T>();
  const o = {
    calls: 0,
    fn: (): Promise<T> => {
      o.calls++;
      return gate.promise;
    },
    open: (value: T) => gate.resolve(value),
    fail: (error: unknown) => gate.reject(error),
  };
  return o;
}

/** Counts unhandled rejections while a test runs. */
export function watchRejections() {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  return { seen, stop: () => process.off('unhandledRejection', listener) };
}

export const START = 1_700_000_000_000;
export const clockAtStart = () => new ManualClock(START);
