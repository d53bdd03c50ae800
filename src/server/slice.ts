import { setImmediate as immediate } from 'node:timers/promises';

/** Longest stretch of a long read (every component's figures) before timers and I/O get a turn. */
export const SLICE_MS = 5;

/**
 * A function to await between the steps of a long read. SQLite answers synchronously, so reading
 * the figures of every component is one unbroken chain of promise callbacks that no timer can
 * interrupt: at 1,000 components a scrape of `/metrics` held the event loop for 300 ms, and every
 * check due meanwhile started late. Awaiting this lets due checks start once `SLICE_MS` has passed
 * (on `now`, a monotonic ms source: `performance.now` unless a test drives it).
 */
export function slicer(sliceMs = SLICE_MS, now: () => number = () => performance.now()): () => Promise<void> {
  let since = now();
  return async () => {
    if (now() - since < sliceMs) return;
    await immediate();
    since = now();
  };
}
