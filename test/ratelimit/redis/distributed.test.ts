/**
 * Several Node processes, one key, one Redis: together they are never allowed more than the
 * limit, and exactly the limit when they ask for more, whatever their clocks say.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, redisUrl, uniqueName } from '../../support/services.js';
import { KINDS } from '../helpers.js';

const available = await hasRedis();
const worker = fileURLToPath(new URL('./distributed-worker.ts', import.meta.url));
const LIMIT = 100;
const REQUESTS = 200;
const IN_FLIGHT = 50;

/** Redis' own time, ms. */
async function redisNow(client: Redis): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/**
 * A window of about ten minutes whose aligned boundaries (multiples of it since the epoch) are at
 * least two minutes from `now`, so no window ends during the run and a window's count is the run's.
 */
function windowAwayFromEdges(now: number): number {
  for (let w = 600_000; ; w += 1000) if (now % w > 1000 && now % w < w - 120_000) return w;
}

/** Runs one worker per skew, all started together; returns the units each was allowed, per algorithm. */
async function run(skews: number[], env: Record<string, string>): Promise<Record<string, number>[]> {
  const children = skews.map((skew) =>
    spawn(process.execPath, ['--import', 'tsx', worker], {
      env: { ...process.env, ...env, SKEW_MS: String(skew) },
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
  const next = async (i: number) => {
    const line = await lines[i]?.next();
    if (line === undefined || line.done) throw new Error(`worker ${i} ended early (exit ${children[i]?.exitCode})`);
    return line.value;
  };
  for (let i = 0; i < children.length; i++) expect(await next(i)).toBe('ready');
  for (const child of children) child.stdin.write('go\n');
  const results = [];
  for (let i = 0; i < children.length; i++)
    results.push(JSON.parse(await next(i)) as Record<string, number> & { insured: number; insuredFirst: string | null });
  return results;
}

describe.skipIf(!available)('Redis store across processes', () => {
  let client: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    client = new Redis(redisUrl);
  });
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length > 0) await client.del(...keys);
    }
    client.disconnect();
  });

  /**
   * Every algorithm at once, each on its own shared key. The windows admit exactly LIMIT; the
   * buckets refill while the run lasts, so they admit LIMIT plus at most what dripped in meanwhile
   * (measured on Redis' clock: under one unit in any run shorter than six seconds).
   */
  async function check(skews: number[]): Promise<void> {
    const prefix = uniqueName('dist');
    prefixes.push(prefix);
    const started = await redisNow(client);
    const windowMs = windowAwayFromEdges(started);
    const results = await run(skews, {
      KINDS: KINDS.join(','),
      LIMIT: String(LIMIT),
      WINDOW_MS: String(windowMs),
      REQUESTS: String(REQUESTS),
      IN_FLIGHT: String(IN_FLIGHT),
      PREFIX: prefix,
      REDIS_URL: redisUrl,
    });
    const elapsed = (await redisNow(client)) - started;
    expect(
      results.map((r) => [r.insured, r.insuredFirst]),
      'decisions left to the insurance',
    ).toEqual(results.map(() => [0, null]));
    for (const kind of KINDS) {
      const total = results.reduce((sum, r) => sum + (r[kind] ?? 0), 0);
      const refill = kind === 'token-bucket' || kind === 'gcra' ? Math.ceil((elapsed * LIMIT) / windowMs) : 0;
      expect(total, `${kind}: units allowed across ${skews.length} processes`).toBeGreaterThanOrEqual(LIMIT);
      expect(total, `${kind}: units allowed across ${skews.length} processes`).toBeLessThanOrEqual(LIMIT + refill);
    }
  }

  it(`4 processes × ${IN_FLIGHT} in flight on one key: exactly the limit in total, for every algorithm`, async () => {
    await check([0, 0, 0, 0]);
  }, 60_000);

  it('2 processes whose clocks disagree by 8 s: still exactly the limit (decisions use Redis’ time)', async () => {
    await check([5000, -3000]);
  }, 60_000);
});
