import type { Clock } from './clock.js';
import { abortReason } from './policy.js';

/** Waits `ms` on `clock`; rejects with the abort reason the moment `signal` aborts, leaving no timer behind. */
export function sleep(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timer.clear();
      reject(abortReason(signal));
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
