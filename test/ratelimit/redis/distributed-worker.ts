/**
 * One process of the distributed test: waits for "go" on stdin, then spends on one key per
 * algorithm with IN_FLIGHT requests in flight until REQUESTS were made, and prints what it was
 * allowed. Its clock is skewed by SKEW_MS (the limiter's, which the Redis store must not use).
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import type { Clock } from '../../../src/core/clock.js';
import { systemClock } from '../../../src/core/clock.js';
import { type AlgorithmKind, RateLimiter, redisStore } from '../../../src/ratelimit/index.js';

const env = (name: string) => {
  const v = process.env[name];
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const kinds = env('KINDS').split(',') as AlgorithmKind[];
const limit = Number(env('LIMIT'));
const windowDuration = Number(env('WINDOW_MS'));
const requests = Number(env('REQUESTS'));
const inFlight = Number(env('IN_FLIGHT'));
const skew = Number(env('SKEW_MS'));
const prefix = env('PREFIX');

const clock: Clock = { now: () => Date.now() + skew, setTimeout: systemClock.setTimeout };
const client = new Redis(env('REDIS_URL'));
await client.ping();
// Redis must decide every request here: a generous timeout, so a busy machine never hands a decision
// to the insurance (whose per-process allowance would be added to Redis' count), and any it took is reported.
const insured: string[] = [];
const insurance = { timeout: 30_000, onError: (error: unknown) => insured.push(String(error)) };
const limiters = kinds.map(
  (algorithm) =>
    new RateLimiter({ name: algorithm, algorithm, limit, windowDuration, clock, store: redisStore(client, { prefix, insurance }) }),
);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));

const allowed: Record<string, number> = {};
await Promise.all(
  limiters.map(async (limiter) => {
    let made = 0;
    let count = 0;
    const lane = async () => {
      while (made < requests) {
        made++;
        if ((await limiter.consume('shared')).allowed) count++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    allowed[limiter.name] = count;
  }),
);
process.stdout.write(`${JSON.stringify({ ...allowed, insured: insured.length, insuredFirst: insured[0] ?? null })}\n`);
client.disconnect();
