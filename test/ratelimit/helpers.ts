import { ManualClock } from '../../src/core/clock.js';
import { type AlgorithmKind, type Decision, memoryStore, RateLimiter, type RateLimiterOptions } from '../../src/ratelimit/index.js';

export const KINDS: readonly AlgorithmKind[] = ['token-bucket', 'gcra', 'fixed-window', 'sliding-window', 'sliding-log'];

/** A memory limiter on a manual clock (at `start`, default 0), with its clock. */
export function limiterAt(options: Omit<RateLimiterOptions, 'clock'>, start = 0) {
  const clock = new ManualClock(start);
  return { clock, limiter: new RateLimiter<Decision>({ ...options, clock }) };
}

/** Spends one unit `n` times on `key`; returns how many were allowed. */
export function spend(limiter: RateLimiter, key: string, n: number, cost = 1): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (limiter.consume(key, cost).allowed) allowed++;
  return allowed;
}

export { ManualClock, memoryStore };
