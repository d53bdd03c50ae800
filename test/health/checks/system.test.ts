import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { disk, eventLoop, memory } from '../../../src/health/checks/index.js';
import { settle } from './support.js';

const block = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the event loop is blocked
  }
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('disk check', () => {
  it('reports the free space of the temp directory', async () => {
    const result = await settle(disk(tmpdir(), { minFreeBytes: 1, minFreeRatio: 0.0001 }));
    expect(result.status).toBe('healthy');
    const { freeBytes, totalBytes, freeRatio } = result.details as Record<string, number>;
    expect(totalBytes).toBeGreaterThan(0);
    expect(freeBytes).toBeGreaterThan(0);
    expect(freeBytes).toBeLessThanOrEqual(totalBytes as number);
    expect(freeRatio).toBeCloseTo((freeBytes as number) / (totalBytes as number), 3);
  });

  it('is unhealthy below minFreeBytes or minFreeRatio, with the figures', async () => {
    const bytes = await settle(disk(tmpdir(), { minFreeBytes: Number.MAX_SAFE_INTEGER }));
    expect(bytes.status).toBe('unhealthy');
    expect(bytes.error).toMatch(/^[\d.]+ [KMGTP]?i?B free, below minFreeBytes 8\.0 PiB$/);
    expect(bytes.details?.freeBytes).toBeGreaterThan(0);
    const ratio = await settle(disk(tmpdir(), { minFreeRatio: 1 }));
    expect(ratio.error).toMatch(/^[\d.]+ % free, below minFreeRatio 100\.0 %$/);
  });

  it('fails on a path that does not exist', async () => {
    const result = await settle(disk(join(tmpdir(), 'nines-no-such-dir', 'x')));
    expect(result.error).toMatch(/ENOENT/);
  });

  it('validates its options', () => {
    expect(() => disk('')).toThrow(/^path must be/);
    expect(() => disk('/', { minFreeRatio: 2 })).toThrow(/^minFreeRatio must be a number between 0 and 1/);
    expect(() => disk('/', { minFreeBytes: -1 })).toThrow(/^minFreeBytes must be/);
  });
});

describe('memory check', () => {
  it('reports heap use against its limit, and rss', async () => {
    const result = await settle(memory());
    expect(result.status).toBe('healthy');
    const { heapUsed, heapLimit, heapRatio, rss } = result.details as Record<string, number>;
    expect(heapUsed).toBeGreaterThan(0);
    expect(heapLimit).toBeGreaterThan(heapUsed as number);
    expect(heapRatio).toBeGreaterThan(0);
    expect(heapRatio).toBeLessThan(1);
    expect(rss).toBeGreaterThan(0);
  });

  it('is unhealthy above maxHeapRatio or maxRssBytes', async () => {
    expect((await settle(memory({ maxHeapRatio: 0 }))).error).toMatch(/^heap at [\d.]+ % of its limit, above maxHeapRatio 0\.0 %$/);
    expect((await settle(memory({ maxRssBytes: 1024 }))).error).toMatch(/^rss [\d.]+ MiB, above maxRssBytes 1\.0 KiB$/);
  });

  it('validates its options', () => {
    expect(() => memory({ maxHeapRatio: 1.5 })).toThrow(/^maxHeapRatio must be/);
    expect(() => memory({ maxRssBytes: -1 })).toThrow(/^maxRssBytes must be/);
  });
});

describe('eventLoop check', () => {
  it('answers its first run with samples, and passes while no lag reaches maxLagMs', async () => {
    // a busy machine delays timers by tens or hundreds of ms: the limit is a hang guard, not a speed limit
    const result = await settle(eventLoop({ maxLagMs: 10_000 }));
    expect(result.status).toBe('healthy');
    const { p50Ms, p99Ms, maxMs, samples } = result.details as Record<string, number>;
    expect(samples).toBeGreaterThan(0);
    expect(p50Ms).toBeGreaterThanOrEqual(0);
    expect(p99Ms).toBeGreaterThanOrEqual(p50Ms as number);
    expect(maxMs).toBeGreaterThanOrEqual(p99Ms as number);
  });

  it('sees a block between two runs', async () => {
    const check = eventLoop({ maxLagMs: 100 });
    await settle(check);
    await pause(30);
    block(250);
    await pause(30);
    const result = await settle(check);
    expect(result.status).not.toBe('healthy');
    expect(result.details?.maxMs).toBeGreaterThan(200);
    expect(result.error).toMatch(/event loop/);
  });

  it('sees a block that starts right after a run (the histogram skips its first interval after a reset)', async () => {
    const check = eventLoop({ maxLagMs: 100 });
    await settle(check);
    block(250);
    await pause(30);
    const result = await settle(check);
    expect(result.details?.maxMs).toBeGreaterThan(200);
  });

  it('is degraded, not unhealthy, for one block in a long quiet window', async () => {
    // the limit well above what load adds to a quiet sample, the block well above the limit: only the block exceeds it
    const check = eventLoop({ maxLagMs: 500 });
    await settle(check);
    await pause(1500); // ~150 samples: one slow one stays out of the 99th percentile
    block(700);
    await pause(20);
    const result = await settle(check);
    expect(result.status).toBe('degraded');
    expect(result.error).toMatch(/^event loop blocked for [\d.]+ ms once/);
  });

  it('validates its options', () => {
    expect(() => eventLoop({ maxLagMs: -1 })).toThrow(/^maxLagMs must be/);
  });
});

describe('process-wide state', () => {
  it('keeps nothing alive: a process that ran eventLoop, disk and memory exits by itself', () => {
    const fixture = fileURLToPath(new URL('./fixtures/exits.ts', import.meta.url));
    // the spawn's timeout is the hang guard: a handle left open would get the child killed (signal set)
    const result = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 25_000 });
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.stdout).toBe('done\n');
  });
});
