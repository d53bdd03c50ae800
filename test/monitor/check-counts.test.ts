import { describe, expect, it } from 'vitest';
import { CheckCounts } from '../../src/monitor/check-counts.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const T0 = Date.UTC(2026, 4, 2, 6); // a whole hour: every slot boundary falls on it

describe('CheckCounts', () => {
  it('counts the 60 slots of window / 60 ending with the one holding now, once a whole window was counted', () => {
    const counts = new CheckCounts();
    let next = T0;
    /** Checks every 10 s up to `until`, one in three failed. */
    const checkUntil = (until: number) => {
      for (; next <= until; next += 10 * SECOND) counts.record('api', next, (next - T0) % (30 * SECOND) === 0);
    };
    checkUntil(T0 + 5 * MINUTE - SECOND);
    // the 5 m window at 4m59s spans the slots of 0s … 4m55s: whole, though not five minutes long
    expect(counts.count('api', '5m', T0 + 5 * MINUTE - SECOND)).toEqual({ total: 30, failed: 10 });
    expect(counts.count('api', '5m', T0 + 5 * MINUTE - 5 * SECOND - 1)).toBeUndefined(); // reaches back before the first check
    checkUntil(T0 + 10 * MINUTE - SECOND);
    expect(counts.count('api', '15m', T0 + 10 * MINUTE)).toBeUndefined();
    expect(counts.count('nope', '5m', T0 + 10 * MINUTE)).toBeUndefined();
    // at 10m the 5m window spans 5m05s … 10m: the checks of 5m10s … 9m50s, one in three failed
    expect(counts.count('api', '5m', T0 + 10 * MINUTE)).toEqual({ total: 29, failed: 9 });
    // 4 s later the slot holding now is the same, 5 s later the slot of 5m05s slid out: both without a check
    expect(counts.count('api', '5m', T0 + 10 * MINUTE + 4 * SECOND)).toEqual({ total: 29, failed: 9 });
    expect(counts.count('api', '5m', T0 + 10 * MINUTE + 5 * SECOND)).toEqual({ total: 29, failed: 9 });
    expect(counts.count('api', '5m', T0 + 14 * MINUTE + 45 * SECOND)).toEqual({ total: 1, failed: 0 }); // 9m50s only
    expect(counts.count('api', '5m', T0 + 14 * MINUTE + 50 * SECOND)).toBeUndefined(); // no check in it: cannot tell
    // the 1 h window (slots of 1 min) at 1h spans 1m … 1h: the checks of 1m … 9m50s
    expect(counts.count('api', '1h', T0 + 60 * MINUTE)).toEqual({ total: 54, failed: 18 });
  });

  it('drops a late check older than its window, and forgets a dropped component', () => {
    const counts = new CheckCounts();
    counts.record('api', T0, false);
    counts.record('api', T0 + 5 * MINUTE, false); // takes the slot T0 held
    counts.record('api', T0 + 1, true); // late, and outside every 5 m window from now on
    expect(counts.count('api', '5m', T0 + 5 * MINUTE)).toEqual({ total: 1, failed: 0 });
    // the 15 m window still holds the slot of T0 (slots of 15 s): the late check counts there
    expect(counts.count('api', '15m', T0 + 15 * MINUTE - 1)).toEqual({ total: 3, failed: 1 });
    counts.drop('api');
    expect(counts.count('api', '15m', T0 + 15 * MINUTE - 1)).toBeUndefined();
  });
});
