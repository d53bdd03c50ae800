import { describe, expect, it } from 'vitest';
import { type Member, Rendezvous } from '../../../src/monitor/ha/rendezvous.js';
import { random as seeded } from '../../support/random.js';

const components = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
const members = (names: readonly string[], list: readonly string[]): Member[] => names.map((instance) => ({ instance, components: list }));
const loads = (owners: Map<string, string>) => {
  const out: Record<string, number> = {};
  for (const o of owners.values()) out[o] = (out[o] ?? 0) + 1;
  return out;
};

describe('Rendezvous.assign: balanced shares', () => {
  it('keeps every share of 300 within ±10 % for 200 random sets of three and of four instance names (plain HRW misses it)', () => {
    const random = seeded(20);
    const list = components(300);
    let plainMisses = 0;
    let worst = 0;
    for (let round = 0; round < 200; round++) {
      const names = Array.from({ length: 4 }, () => `nines-${Math.floor(random() * 1e9).toString(36)}`);
      for (const live of [names.slice(0, 3), names]) {
        const hrw = new Rendezvous();
        const owners = hrw.assign(members(live, list));
        expect(owners.size).toBe(300);
        const avg = 300 / live.length;
        for (const n of live) {
          const share = loads(owners)[n] ?? 0;
          worst = Math.max(worst, Math.abs(share - avg) / avg);
          expect(share, `${n} of ${live.join(',')}`).toBeGreaterThanOrEqual(Math.ceil(avg * 0.9));
          expect(share).toBeLessThanOrEqual(Math.floor(avg * 1.1));
          const plain = hrw.share(n, live, list).length;
          if (plain < avg * 0.9 || plain > avg * 1.1) plainMisses++;
        }
      }
    }
    console.log(
      `balanced: worst share ${(worst * 100).toFixed(1)} % off the average; plain HRW: ${plainMisses} of 1400 shares outside ±10 %`,
    );
    expect(plainMisses).toBeGreaterThan(0); // the bounds are doing the work
  });

  it('a join moves about the newcomer’s share, a leave only the leaver’s components plus the few the bounds need', () => {
    const random = seeded(21);
    const list = components(300);
    const joins: number[] = [];
    for (let round = 0; round < 100; round++) {
      const names = Array.from({ length: 4 }, () => `i-${Math.floor(random() * 1e9).toString(36)}`);
      const three = new Rendezvous().assign(members(names.slice(0, 3), list));
      const four = new Rendezvous().assign(members(names, list));
      const moved = list.filter((c) => three.get(c) !== four.get(c));
      const toNew = moved.filter((c) => four.get(c) === names[3]).length;
      expect(toNew).toBe(loads(four)[names[3] as string]);
      joins.push(moved.length - toNew);
      // the leave back to three: the same owners as before the join
      expect(new Rendezvous().assign(members(names.slice(0, 3), list))).toEqual(three);
    }
    joins.sort((a, b) => a - b);
    const median = joins[joins.length >> 1] ?? 0;
    console.log(`a fourth joins 300 over three: besides its own share, median ${median}, max ${joins.at(-1)} moved between the others`);
    expect(median).toBeLessThanOrEqual(15); // 5 % of 300
    expect(joins.at(-1)).toBeLessThanOrEqual(30);
  });

  it('gives a component only to instances whose config lists it, and computes the same owners in every instance', () => {
    const all = components(30);
    const old = all.slice(0, 24); // a rolling change: b and c already have six more components
    const m: Member[] = [
      { instance: 'a', components: old },
      { instance: 'b', components: all },
      { instance: 'c', components: all },
    ];
    const owners = new Rendezvous().assign(m);
    for (const c of all.slice(24)) expect(['b', 'c']).toContain(owners.get(c));
    expect(owners.size).toBe(30);
    expect(new Rendezvous().assign([...m].reverse())).toEqual(owners);
    // an instance that does not say what it lists may be given anything
    const mixed = new Rendezvous().assign([{ instance: 'a', components: null }, ...m.slice(1)]);
    expect(mixed.size).toBe(30);
  });

  it('tiny lists: every instance within one of the others', () => {
    for (const n of [1, 2, 5, 12, 13]) {
      const owners = new Rendezvous().assign(members(['a', 'b', 'c'], components(n)));
      const l = Object.values(loads(owners));
      expect(owners.size).toBe(n);
      expect(Math.max(...l) - Math.min(...(l.length < 3 && n >= 3 ? [0] : l))).toBeLessThanOrEqual(1);
    }
  });
});
