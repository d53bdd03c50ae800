import { describe, expect, it } from 'vitest';
import { priorityLoad } from '../../src/failover/priority.js';

// Each row: healthy percent per tier (of 100 hosts each), then the published traffic percent per tier.
type Row = [healthy: number[], traffic: number[]];
const tiers = (healthy: number[]) => healthy.map((h) => ({ healthy: h, total: 100 }));

describe('priorityLoad: Envoy priority levels, row by row', () => {
  // https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/priority
  // first table: two levels, P=1 100 % healthy.
  const twoLevelsP1Healthy: Row[] = [
    [
      [100, 100],
      [100, 0],
    ],
    [
      [72, 100],
      [100, 0],
    ],
    [
      [71, 100],
      [99, 1],
    ],
    [
      [50, 100],
      [70, 30],
    ],
    [
      [25, 100],
      [35, 65],
    ],
    [
      [0, 100],
      [0, 100],
    ],
  ];
  // Same page, second table: both levels losing hosts (normalized total health below 100 scales them).
  const twoLevels: Row[] = [
    [
      [100, 100],
      [100, 0],
    ],
    [
      [72, 72],
      [100, 0],
    ],
    [
      [71, 71],
      [99, 1],
    ],
    [
      [50, 50],
      [70, 30],
    ],
    [
      [25, 100],
      [35, 65],
    ],
    [
      [25, 25],
      [50, 50],
    ],
  ];
  // Same page, third table: three levels.
  const threeLevels: Row[] = [
    [
      [100, 100, 100],
      [100, 0, 0],
    ],
    [
      [72, 72, 100],
      [100, 0, 0],
    ],
    [
      [71, 71, 100],
      [99, 1, 0],
    ],
    [
      [50, 50, 100],
      [70, 30, 0],
    ],
    [
      [25, 100, 100],
      [35, 65, 0],
    ],
    [
      [25, 25, 100],
      [35, 35, 30],
    ],
    [
      [25, 25, 20],
      [36, 36, 28],
    ],
  ];
  for (const [name, table] of [
    ['two levels, P=1 healthy', twoLevelsP1Healthy],
    ['two levels', twoLevels],
    ['three levels', threeLevels],
  ] as const) {
    it.each(table)(`${name}: healthy %j -> traffic %j`, (healthy, traffic) => {
      expect(priorityLoad(tiers(healthy)).loads).toEqual(traffic);
    });
  }

  it('the prose example: healths {20, 30} are normalized to {40 %, 60 %}', () => {
    // 20 and 30 are health scores, so with factor 1.4 the healthy shares are 20/1.4 and 30/1.4 of 14 hosts.
    expect(
      priorityLoad([
        { healthy: 2, total: 14 },
        { healthy: 3, total: 14 },
      ]).loads,
    ).toEqual([40, 60]);
  });
});

describe('priorityLoad: Envoy panic threshold, row by row', () => {
  // https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/panic_threshold
  // Rows: healthy %, traffic %, in panic, normalized total health.
  type PanicRow = [healthy: number[], traffic: number[], panic: boolean[], total: number, factor?: number];
  const p1Healthy: PanicRow[] = [
    [[72, 100], [100, 0], [false, false], 100],
    [[71, 100], [99, 1], [false, false], 100],
    [[50, 100], [70, 30], [false, false], 100],
    [[25, 100], [35, 65], [false, false], 100],
    [[0, 100], [0, 100], [false, false], 100],
  ];
  const bothLosing: PanicRow[] = [
    [[72, 72], [100, 0], [false, false], 100],
    [[71, 71], [99, 1], [false, false], 100],
    // These two published rows hold with an overprovisioning factor of 1.0, not the page's 1.4
    // (with 1.4 they would read 70/30 and 35/65, as the priority page's own tables do).
    [[50, 60], [50, 50], [false, false], 100, 1],
    [[25, 100], [25, 75], [false, false], 100, 1],
    [[25, 25], [50, 50], [true, true], 70],
    [[5, 65], [7, 93], [true, false], 98],
  ];
  it.each([...p1Healthy, ...bothLosing])('healthy %j -> traffic %j, panic %j, total %d', (healthy, traffic, panic, total, factor) => {
    const result = priorityLoad(tiers(healthy), { overprovisioningFactor: factor });
    expect(result).toEqual({ loads: traffic, panic, totalHealth: total, noHealthyUpstream: false });
  });

  it('nothing healthy: all traffic to P=0 in panic; with threshold 0, no healthy upstream', () => {
    expect(priorityLoad(tiers([0, 0]))).toEqual({ loads: [100, 0], panic: [true, false], totalHealth: 0, noHealthyUpstream: false });
    expect(priorityLoad(tiers([0, 0]), { panicThreshold: 0 })).toEqual({
      loads: [0, 0],
      panic: [false, false],
      totalHealth: 0,
      noHealthyUpstream: true,
    });
  });

  it('threshold 0 never panics, per tier thresholds apply to their own tier', () => {
    expect(priorityLoad(tiers([25, 25]), { panicThreshold: 0 }).panic).toEqual([false, false]);
    expect(priorityLoad(tiers([25, 25]), { panicThreshold: [0, 50] }).panic).toEqual([false, true]);
  });

  it('one of three hosts healthy, no other tier: panic over all three', () => {
    expect(priorityLoad([{ healthy: 1, total: 3 }])).toEqual({ loads: [100], panic: [true], totalHealth: 46, noHealthyUpstream: false });
  });
});

describe('priorityLoad: backup mode (HAProxy backup servers)', () => {
  // Rows: [healthy, total] per tier -> loads: the first tier with a healthy host takes everything.
  const rows: [[number, number][], number[]][] = [
    [
      [
        [1, 3],
        [1, 1],
      ],
      [100, 0],
    ],
    [
      [
        [0, 3],
        [1, 1],
      ],
      [0, 100],
    ],
    [
      [
        [0, 3],
        [0, 1],
        [2, 2],
      ],
      [0, 0, 100],
    ],
  ];
  const backup = (t: [number, number][], panicThreshold?: number) =>
    priorityLoad(
      t.map(([healthy, total]) => ({ healthy, total })),
      { mode: 'backup', panicThreshold },
    );
  it.each(rows)('%j -> %j', (t, loads) => {
    expect(backup(t).loads).toEqual(loads);
  });

  it('no panic while a tier has a healthy host; none healthy with threshold 0: no healthy upstream', () => {
    expect(backup([[1, 3]]).panic).toEqual([false]);
    expect(
      backup(
        [
          [0, 3],
          [0, 1],
        ],
        0,
      ).noHealthyUpstream,
    ).toBe(true);
  });
});

describe('priorityLoad: bad input', () => {
  it('names the option', () => {
    expect(() => priorityLoad([{ healthy: 4, total: 3 }])).toThrow(/tiers\[0\]\.healthy/);
    expect(() => priorityLoad(tiers([1]), { overprovisioningFactor: 0.5 })).toThrow(/overprovisioningFactor/);
    expect(() => priorityLoad(tiers([1, 1]), { panicThreshold: [50] })).toThrow(/panicThreshold/);
  });
});
