import { describe, expect, it } from 'vitest';
import { powerOfTwoChoices, roundRobin, weightedRoundRobin } from '../../src/failover/balancers.js';
import { random } from '../support/random.js';

const picks = <T>(n: number, pick: () => T | undefined) => Array.from({ length: n }, pick);

describe('roundRobin', () => {
  it('each host in turn; empty list gives undefined', () => {
    const rr = roundRobin<string>();
    expect(picks(7, () => rr.pick(['a', 'b', 'c']))).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
    expect(rr.pick([])).toBeUndefined();
    expect(picks(3, () => rr.pick(['x', 'y']))).toEqual(['y', 'x', 'y']); // continues at position 1
  });
});

describe('weightedRoundRobin (nginx smooth)', () => {
  it('weights 5, 1, 1: nginx documented sequence a a b a c a a', () => {
    const weights: Record<string, number> = { a: 5, b: 1, c: 1 };
    const wrr = weightedRoundRobin<string>((h) => weights[h] ?? 0);
    expect(picks(14, () => wrr.pick(['a', 'b', 'c'])).join(' ')).toBe('a a b a c a a a a b a c a a');
  });

  it('weights 2, 1 and a 0 weight host never picked; weights may change between picks', () => {
    const weights: Record<string, number> = { a: 2, b: 1, c: 0 };
    const wrr = weightedRoundRobin<string>((h) => weights[h] ?? 0);
    expect(picks(6, () => wrr.pick(['a', 'b', 'c'])).join('')).toBe('abaaba');
    weights.c = 3;
    expect(picks(6, () => wrr.pick(['a', 'b', 'c'])).join('')).toBe('cabcac'); // a tie goes to the first in the list, as in nginx
    expect(weightedRoundRobin<string>(() => 0).pick(['a'])).toBeUndefined();
  });
});

describe('powerOfTwoChoices', () => {
  it('never picks the busier of the two it drew', () => {
    const load: Record<string, number> = { a: 3, b: 1, c: 2 };
    const draws = [0, 0.6]; // i = 0 (a), j = floor(0.6 × 2) = 1 -> skips a -> c
    const p2c = powerOfTwoChoices<string>(
      (h) => load[h] ?? 0,
      () => draws.shift() ?? 0,
    );
    expect(p2c.pick(['a', 'b', 'c'])).toBe('c');
    const seeded = random(42);
    const seededP2c = powerOfTwoChoices<string>((h) => load[h] ?? 0, seeded);
    const picked = picks(1000, () => seededP2c.pick(['a', 'b', 'c']));
    expect(picked).not.toContain('a'); // the busiest loses to whichever host it is drawn with
    expect(picked.filter((h) => h === 'b').length).toBeGreaterThan(600); // b wins both of its pairs, c one of two
  });

  it('with equal load, a seeded random spreads picks evenly; a host busier than all never', () => {
    const hosts = ['a', 'b', 'c', 'd'];
    const count = (load: Record<string, number>) => {
      const p2c = powerOfTwoChoices<string>((h) => load[h] ?? 0, random(7));
      const seen = new Map(hosts.map((h) => [h, 0]));
      for (let n = 0; n < 40_000; n++) {
        const h = p2c.pick(hosts) as string;
        seen.set(h, (seen.get(h) ?? 0) + 1);
      }
      return Object.fromEntries(seen);
    };
    for (const n of Object.values(count({}))) expect(Math.abs(n - 10_000)).toBeLessThan(500);
    expect(count({ a: 1 }).a).toBe(0);
  });

  it('zero or one host', () => {
    const p2c = powerOfTwoChoices<string>(() => 0, random(1));
    expect(p2c.pick([])).toBeUndefined();
    expect(p2c.pick(['a'])).toBe('a');
  });
});
