import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/errors.js';
import { createAlgorithm } from '../../src/ratelimit/index.js';
import { KINDS, limiterAt, spend } from './helpers.js';

const decision = (allowed: boolean, remaining: number, resetMs: number, retryAfterMs: number, limit = 10) => ({
  allowed,
  limit,
  remaining,
  resetMs,
  retryAfterMs,
});

describe('every algorithm', () => {
  for (const algorithm of KINDS) {
    describe(algorithm, () => {
      it('allows `limit` at once from fresh, refuses the next, and allows it again at retryAfterMs, not 1 ms before', async () => {
        const { clock, limiter } = limiterAt({ algorithm, limit: 10, windowDuration: 1000 }, 1_700_000_000_000);
        expect(spend(limiter, 'k', 10)).toBe(10);
        const refused = limiter.consume('k');
        expect(refused).toMatchObject({ allowed: false, limit: 10, remaining: 0 });
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        await clock.advance(refused.retryAfterMs - 1);
        expect(limiter.consume('k').allowed).toBe(false);
        await clock.advance(1);
        expect(limiter.consume('k').allowed).toBe(true);
      });

      it('charges a cost larger than 1 whole or not at all, and throws for a cost that could never pass', async () => {
        const { clock, limiter } = limiterAt({ algorithm, limit: 10, windowDuration: 1000 });
        expect(limiter.consume('k', 7)).toMatchObject({ allowed: true, remaining: 3 });
        const refused = limiter.consume('k', 4);
        expect(refused).toMatchObject({ allowed: false, remaining: 3 });
        expect(limiter.consume('k', 3)).toMatchObject({ allowed: true, remaining: 0 });
        await clock.advance(limiter.consume('k', 4).retryAfterMs);
        expect(limiter.consume('k', 4).allowed).toBe(true);
        expect(() => limiter.consume('k', 11)).toThrow(InvalidOptionError);
        expect(() => limiter.consume('k', 11)).toThrow('cost must be an integer between 1 and 10, got 11');
        for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => limiter.consume('k', bad)).toThrow(InvalidOptionError);
      });

      it('is back to full after resetMs of quiet, keeps keys apart, and a clock stepping back adds nothing', async () => {
        const { clock, limiter } = limiterAt({ algorithm, limit: 10, windowDuration: 1000 }, 5000);
        const last = limiter.consume('a', 6);
        expect(limiter.get('b')).toEqual(decision(true, 10, 0, 0));
        await clock.set(4000); // a wall clock stepped back by 1 s
        expect(limiter.consume('a', 5).allowed).toBe(false);
        expect(limiter.get('a').remaining).toBeLessThanOrEqual(4);
        await clock.set(5000 + Math.max(last.resetMs, limiter.get('a').resetMs) + 2000);
        expect(limiter.get('a')).toEqual(decision(true, 10, 0, 0));
      });

      it('blockDuration refuses every request for that long after a refusal, without spending, and not longer', async () => {
        const { clock, limiter } = limiterAt({ algorithm, limit: 10, windowDuration: 1000, blockDuration: 60_000 });
        spend(limiter, 'k', 10);
        expect(limiter.consume('k')).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 60_000, resetMs: 60_000 });
        await clock.advance(30_000);
        expect(limiter.consume('k')).toMatchObject({ allowed: false, retryAfterMs: 30_000 });
        expect(limiter.get('k')).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 30_000 });
        await clock.advance(30_000);
        expect(spend(limiter, 'k', 10)).toBe(10); // the refused requests spent nothing, and the block is over
        expect(limiter.delete('k')).toBe(true);
        expect(limiter.delete('k')).toBe(false);
        expect(limiter.consume('k', 10).allowed).toBe(true);
      });

      it('penalty spends past the limit down to empty, reward gives back up to full, neither refuses', async () => {
        const { limiter } = limiterAt({ algorithm, limit: 10, windowDuration: 1000 });
        expect(limiter.penalty('k', 4)).toMatchObject({ allowed: true, remaining: 6 });
        expect(limiter.penalty('k', 10)).toMatchObject({ allowed: false, remaining: 0 });
        expect(limiter.consume('k').allowed).toBe(false);
        expect(limiter.reward('k', 3)).toMatchObject({ allowed: true, remaining: 3 });
        expect(limiter.reward('k', 10)).toMatchObject({ allowed: true, remaining: 10 });
        expect(spend(limiter, 'k', 11)).toBe(10);
        expect(() => limiter.penalty('k', 0)).toThrow('points must be an integer between 1 and 10, got 0');
      });
    });
  }
});

describe('windows', () => {
  it('fixed window: aligned on the epoch, it resets at the boundary and so lets a double burst through there', async () => {
    const { clock, limiter } = limiterAt({ algorithm: 'fixed-window', limit: 10, windowDuration: 1000 }, 10_999);
    expect(limiter.consume('k', 10)).toEqual(decision(true, 0, 1, 0));
    expect(limiter.consume('k')).toEqual(decision(false, 0, 1, 1));
    await clock.advance(1);
    expect(limiter.consume('k', 10)).toEqual(decision(true, 0, 1000, 0)); // 20 within 2 ms
  });

  it('sliding window: a burst at the end of a window still weighs fully at the start of the next (no double burst)', async () => {
    const { clock, limiter } = limiterAt({ algorithm: 'sliding-window', limit: 10, windowDuration: 1000 }, 10_999);
    expect(spend(limiter, 'k', 10)).toBe(10);
    await clock.advance(1); // 11 000: a new window, the previous one's 10 weigh 10 × 1000/1000
    expect(limiter.consume('k')).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 100 });
    let admitted = 0;
    for (let t = 0; t < 250; t++) {
      admitted += spend(limiter, 'k', 5);
      await clock.advance(1);
    }
    expect(admitted).toBe(2); // by 11 250, the weight has fallen by 2.5 units: 2 admitted, not 10
    await clock.set(12_000);
    expect(limiter.get('k')).toMatchObject({ remaining: 8 }); // the 2 of the previous window, weighing fully
  });

  it('sliding window: its retryAfterMs is exact inside the window and across into the next', async () => {
    const { clock, limiter } = limiterAt({ algorithm: 'sliding-window', limit: 3, windowDuration: 1000 });
    spend(limiter, 'k', 3);
    await clock.set(1000);
    // 3 carried: a unit fits once 3 × (1000 − e) + 1 × 1000 ≤ 3 × 1000, e ≥ 333.3
    expect(limiter.consume('k').retryAfterMs).toBe(334);
    await clock.set(1333);
    expect(limiter.consume('k').allowed).toBe(false);
    await clock.set(1334);
    expect(limiter.consume('k', 1).allowed).toBe(true);
    await clock.set(1999);
    expect(limiter.consume('k', 3)).toMatchObject({ allowed: false, retryAfterMs: 1001 }); // 3 fits at 2000 + 1000 only
  });

  it('sliding log: exact, each unit leaves the window windowDuration after it was spent', async () => {
    const { clock, limiter } = limiterAt({ algorithm: 'sliding-log', limit: 3, windowDuration: 1000 });
    limiter.consume('k');
    await clock.set(400);
    limiter.consume('k', 2);
    expect(limiter.consume('k')).toEqual(decision(false, 0, 1000, 600, 3));
    await clock.set(1000);
    expect(limiter.consume('k', 2)).toMatchObject({ allowed: false, remaining: 1, retryAfterMs: 400 });
    expect(limiter.consume('k')).toEqual(decision(true, 0, 1000, 0, 3));
    await clock.set(1400);
    expect(limiter.get('k')).toEqual(decision(true, 2, 600, 0, 3));
  });

  it('token bucket and GCRA refill steadily: one unit per windowDuration / limit', async () => {
    for (const algorithm of ['token-bucket', 'gcra'] as const) {
      const { clock, limiter } = limiterAt({ algorithm, limit: 10, windowDuration: 1000, burst: 2 });
      expect(limiter.consume('k', 2)).toEqual(decision(true, 0, 200, 0, 2));
      expect(limiter.consume('k')).toEqual(decision(false, 0, 200, 100, 2));
      await clock.advance(150);
      expect(limiter.get('k')).toEqual(decision(true, 1, 50, 0, 2));
      expect(() => limiter.consume('k', 3)).toThrow('cost must be an integer between 1 and 2, got 3');
    }
  });
});

describe('createAlgorithm', () => {
  it('refuses bad limits, naming the option', () => {
    expect(() => createAlgorithm({ limit: 0, windowDuration: 1000 })).toThrow('limit must be a number >= 1, got 0');
    expect(() => createAlgorithm({ limit: 1.5, windowDuration: 1000 })).toThrow('limit must be an integer, got 1.5');
    expect(() => createAlgorithm({ limit: 5, windowDuration: 0 })).toThrow(/^windowDuration must be/);
    expect(() => createAlgorithm({ algorithm: 'nope' as 'gcra', limit: 5, windowDuration: 1 })).toThrow(/^algorithm must be one of/);
    expect(() => createAlgorithm({ algorithm: 'fixed-window', limit: 5, windowDuration: 1, burst: 9 })).toThrow(
      'burst applies to token-bucket and gcra, not fixed-window',
    );
    expect(() => createAlgorithm({ algorithm: 'sliding-log', limit: 1001, windowDuration: 1 })).toThrow(
      /^limit must be a number between 1 and 1000/,
    );
    expect(() => createAlgorithm({ limit: 2 ** 40, windowDuration: 2 ** 20 })).toThrow(/^limit × windowDuration/);
    expect(() => createAlgorithm({ limit: 5, windowDuration: 1, blockDuration: -1 })).toThrow(/^blockDuration must be/);
  });

  it('states how long a key matters after its last change, its block included', () => {
    const ttl = (algorithm: Parameters<typeof createAlgorithm>[0]['algorithm'], blockDuration = 0) =>
      createAlgorithm({ algorithm, limit: 10, windowDuration: 1000, blockDuration }).ttl;
    expect([ttl('token-bucket'), ttl('gcra'), ttl('fixed-window'), ttl('sliding-window'), ttl('sliding-log')]).toEqual([
      1000, 1000, 1000, 2000, 1000,
    ]);
    expect(ttl('sliding-window', 60_000)).toBe(60_000);
  });
});
