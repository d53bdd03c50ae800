import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FlagSet } from '../../../src/degrade/flags/flag-set.js';
import { bucket } from '../../../src/degrade/flags/murmur3.js';
import { ROLLOUT_FLAGS } from './fixtures/rollout-flags.js';

const KEYS = 100_000;

function share(percent: number): number {
  const flags = new FlagSet({ flags: { f: { rules: [{ rollout: percent, stickiness: 'userId', groupId: 'f' }] } } });
  let on = 0;
  for (let i = 0; i < KEYS; i++) if (flags.isEnabled('f', { userId: `user-${i}` })) on++;
  return (on / KEYS) * 100;
}

describe('percentage rollout', () => {
  it.each([1, 5, 10, 25, 33, 50, 75, 90, 99])(
    '%i %: the share of 100,000 keys on is within ±0.5 %',
    (percent) => {
      expect(Math.abs(share(percent) - percent)).toBeLessThanOrEqual(0.5);
    },
    30_000,
  );

  it('0 % is off and 100 % on for every key', () => {
    expect(share(0)).toBe(0);
    expect(share(100)).toBe(100);
  });

  it('raising the percentage never turns a key off', () => {
    const flags = new FlagSet();
    const on = new Set<string>();
    for (let percent = 0; percent <= 100; percent++) {
      flags.set('f', { rules: [{ rollout: percent, stickiness: 'userId' }] });
      const now = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const key = `k${i}`;
        if (flags.isEnabled('f', { userId: key })) now.add(key);
      }
      for (const key of on) expect(now.has(key)).toBe(true);
      on.clear();
      for (const key of now) on.add(key);
    }
    expect(on.size).toBe(2000);
  }, 60_000);

  it('buckets as Unleash: murmur3("<groupId>:<key>") % 100 + 1 <= rollout', () => {
    const flags = new FlagSet({ flags: { f: { rules: [{ rollout: 42, groupId: 'g' }] } } });
    for (let i = 0; i < 2000; i++) {
      expect(flags.isEnabled('f', { userId: String(i) })).toBe(bucket('g', String(i)) <= 42);
    }
  });

  it('the same key gets the same answer in another process', async () => {
    const n = 5000;
    const child = fileURLToPath(new URL('./fixtures/rollout-child.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, String(n)], {
      maxBuffer: 1 << 24,
    });
    const theirs = JSON.parse(stdout) as string[];
    const flags = new FlagSet({ flags: ROLLOUT_FLAGS });
    const ours = Array.from({ length: n }, (_, i) => {
      const context = { userId: `user-${i}` };
      return `${flags.isEnabled('checkout', context) ? 1 : 0}${flags.variant('colour', context).name}`;
    });
    expect(theirs).toEqual(ours);
    expect(new Set(ours).size).toBe(6); // on and off, each with all three variants
  }, 60_000);
});
