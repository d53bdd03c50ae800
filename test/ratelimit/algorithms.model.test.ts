import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAlgorithm, type RateAlgorithm } from '../../src/ratelimit/index.js';
import { KINDS } from './helpers.js';

/** Requests as (ms since the previous one, cost as a fraction of the capacity). */
const requests = fc.array(fc.record({ dt: fc.nat({ max: 400 }), share: fc.double({ min: 0, max: 1, noNaN: true }) }), {
  maxLength: 60,
});
const limits = fc.record({ limit: fc.integer({ min: 1, max: 20 }), windowDuration: fc.integer({ min: 1, max: 1000 }) });
const costOf = (a: RateAlgorithm, share: number) => Math.max(1, Math.ceil(share * a.capacity));

/** A fresh key's state for `a`, starting at an epoch-sized time (as Date.now() gives). */
const fresh = (a: RateAlgorithm) => new Float64Array(a.slots);
const START = 1_700_000_000_000;

/** Runs `reqs` on one fresh key of `a`; returns the time of every unit admitted. */
function admitted(a: RateAlgorithm, reqs: ReadonlyArray<{ dt: number; share: number }>): number[] {
  const s = fresh(a);
  const spent: number[] = [];
  let now = START;
  for (const { dt, share } of reqs) {
    now += dt;
    const cost = costOf(a, share);
    if (a.consume(s, 0, now, cost).allowed) for (let i = 0; i < cost; i++) spent.push(now);
  }
  return spent;
}

describe('algorithm transitions (property tests)', () => {
  for (const kind of KINDS) {
    it(`${kind}: retryAfterMs is exact (refused 1 ms before, allowed then) and remaining is the largest cost that passes`, () => {
      fc.assert(
        fc.property(limits, requests, ({ limit, windowDuration }, reqs) => {
          const a = createAlgorithm({ algorithm: kind, limit, windowDuration });
          const s = fresh(a);
          let now = START;
          for (const { dt, share } of reqs) {
            now += dt;
            const cost = costOf(a, share);
            const probe = s.slice();
            const { remaining } = a.peek(probe, 0, now);
            if (remaining < a.capacity) expect(a.consume(probe.slice(), 0, now, remaining + 1).allowed).toBe(false);
            if (remaining > 0) expect(a.consume(probe.slice(), 0, now, remaining).allowed).toBe(true);
            const d = a.consume(s, 0, now, cost);
            if (d.allowed) continue;
            expect(d.retryAfterMs).toBeGreaterThan(0);
            expect(a.consume(probe.slice(), 0, now + d.retryAfterMs - 1, cost).allowed).toBe(false);
            expect(a.consume(probe.slice(), 0, now + d.retryAfterMs, cost).allowed).toBe(true);
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  it('sliding log: never more than limit units in any window of windowDuration ms', () => {
    fc.assert(
      fc.property(limits, requests, ({ limit, windowDuration }, reqs) => {
        const spent = admitted(createAlgorithm({ algorithm: 'sliding-log', limit, windowDuration }), reqs);
        for (const t of spent) expect(spent.filter((u) => u >= t && u < t + windowDuration).length).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 300 },
    );
  });

  it('sliding window: never more than 2 × limit in any window of windowDuration ms, and no more than limit in one aligned window', () => {
    fc.assert(
      fc.property(limits, requests, ({ limit, windowDuration }, reqs) => {
        const spent = admitted(createAlgorithm({ algorithm: 'sliding-window', limit, windowDuration }), reqs);
        for (const t of spent) {
          expect(spent.filter((u) => u >= t && u < t + windowDuration).length).toBeLessThanOrEqual(2 * limit);
          const start = t - (t % windowDuration);
          expect(spent.filter((u) => u >= start && u < start + windowDuration).length).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('token bucket and GCRA decide alike when the emission interval is a whole microsecond', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 30 }),
        requests,
        (limit, k, burst, reqs) => {
          const options = { limit, windowDuration: limit * k, burst };
          const bucket = createAlgorithm({ algorithm: 'token-bucket', ...options });
          const gcra = createAlgorithm({ algorithm: 'gcra', ...options });
          const sb = fresh(bucket);
          const sg = fresh(gcra);
          let now = START;
          for (const { dt, share } of reqs) {
            now += dt;
            const cost = costOf(bucket, share);
            expect(gcra.consume(sg, 0, now, cost)).toEqual(bucket.consume(sb, 0, now, cost));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
