import { describe, expect, it } from 'vitest';
import { firstSlot, PARK_POLL_MS, Scheduler } from '../../src/monitor/scheduler.js';
import { ManualClock } from '../../src/policy/index.js';

describe('Scheduler', () => {
  it('runs every interval at a fixed rate after a first run spread by name', async () => {
    const clock = new ManualClock();
    const scheduler = new Scheduler({ clock });
    const starts: Record<string, number[]> = {};
    for (const name of ['a', 'b', 'c', 'd']) {
      starts[name] = [];
      scheduler.add(name, 1000, async () => {
        starts[name]?.push(clock.now());
      });
    }
    await clock.advance(3999);
    const first = Object.values(starts).map((s) => s[0] ?? -1);
    expect(new Set(first).size).toBeGreaterThan(1); // not all at once
    for (const s of Object.values(starts)) {
      expect(s).toHaveLength(4);
      expect(s[0]).toBeLessThan(1000);
      expect(s.slice(1).map((t, i) => t - (s[i] ?? 0))).toEqual([1000, 1000, 1000]);
    }
    scheduler.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps each job on a grid fixed from the epoch: schedulers started at other times run it at the same instants', async () => {
    const runsOf = async (startAt: number, until: number) => {
      const clock = new ManualClock(startAt);
      const scheduler = new Scheduler({ clock });
      const starts: number[] = [];
      scheduler.add('api', 1000, async () => {
        starts.push(clock.now());
      });
      await clock.advance(until - startAt);
      scheduler.stop();
      return starts;
    };
    const a = await runsOf(1_700_000_000_000, 1_700_000_010_000);
    const b = await runsOf(1_700_000_004_321, 1_700_000_010_000); // a later instance taking over
    expect(a).toHaveLength(10);
    expect(b.length).toBeGreaterThanOrEqual(5);
    expect(a.slice(-b.length)).toEqual(b);
    expect(new Set(a.map((t) => t % 1000)).size).toBe(1);
    // the slot is at or after now, within one interval, and stable for a name
    for (const now of [0, 1, 999, 1000, 1_700_000_004_321]) {
      const slot = firstSlot('api', 1000, now);
      expect(slot).toBeGreaterThanOrEqual(now);
      expect(slot - now).toBeLessThan(1000);
      expect(slot % 1000).toBe((a[0] ?? 0) % 1000);
    }
  });

  it('never runs a job twice at once: a tick that finds it running is skipped', async () => {
    const clock = new ManualClock();
    const scheduler = new Scheduler({ clock });
    let concurrent = 0;
    let maxConcurrent = 0;
    scheduler.add('slow', 100, async () => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await new Promise<void>((r) => clock.setTimeout(r, 250));
      concurrent--;
    });
    await clock.advance(1000);
    const [stats] = scheduler.stats();
    expect(maxConcurrent).toBe(1);
    expect(stats?.runs).toBeGreaterThanOrEqual(3);
    expect(stats?.skipped).toBeGreaterThanOrEqual(5);
    expect((stats?.runs ?? 0) + (stats?.skipped ?? 0)).toBe(10);
    scheduler.stop();
  });

  it('measures lag, keeps going after a failing run, and remove() stops one job', async () => {
    const clock = new ManualClock();
    // every timer fires 7 ms late, as on a busy event loop
    const late = { now: () => clock.now(), setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms + 7) };
    const lags: number[] = [];
    const scheduler = new Scheduler({ clock: late, onLag: (_n, lag) => lags.push(lag) });
    let runs = 0;
    scheduler.add('x', 100, async () => {
      runs++;
      throw new Error('check crashed');
    });
    await clock.advance(510);
    expect(runs).toBe(5);
    expect(lags).toEqual([7, 7, 7, 7, 7]); // fixed rate: lateness does not accumulate
    expect(scheduler.remove('x')).toBe(true);
    await clock.advance(500);
    expect(runs).toBe(5);
    expect(clock.pendingTimers).toBe(0);
  });

  it('validates the interval', () => {
    expect(() => new Scheduler().add('x', 0, async () => undefined)).toThrow(/^interval/);
  });

  it('asks the ownership filter before every run: a job another instance owns keeps its slot and does not run', async () => {
    const clock = new ManualClock();
    const mine = new Set(['a', 'b']);
    const asked: string[] = [];
    const scheduler = new Scheduler({
      clock,
      ownership: {
        owns: (name) => {
          asked.push(name);
          return mine.has(name);
        },
      },
    });
    const runs: Record<'a' | 'b' | 'c', number[]> = { a: [], b: [], c: [] };
    for (const name of ['a', 'b', 'c'] as const) scheduler.add(name, 1000, async () => void runs[name].push(clock.now()));
    await clock.advance(2999);
    expect(runs.a).toHaveLength(3);
    expect(runs.c).toEqual([]);
    // the lease of b moves to another instance, c's comes here: the next slot follows
    mine.delete('b');
    mine.add('c');
    await clock.advance(1000);
    expect(runs.b).toHaveLength(3);
    expect(runs.c).toHaveLength(1);
    const stats = Object.fromEntries(scheduler.stats().map((j) => [j.name, j]));
    // each parked once when found not ours; asked again by the one poll per second, not per slot
    expect([stats.a?.notOwned, stats.b?.notOwned, stats.c?.notOwned]).toEqual([0, 1, 1]);
    expect(asked.filter((n) => n === 'c')).toHaveLength(5); // its first slot, three polls, then its run
    // c kept its slot while it was not ours: it runs in its fourth interval, at its first slot + 3 s
    expect(runs.c[0]).toBeGreaterThanOrEqual(3000);
    expect(runs.c[0]).toBeLessThan(4000);
    scheduler.stop();
  });

  it('parks a job it does not own: asked once a second, not at every slot, and resumed at once by wake()', async () => {
    const clock = new ManualClock();
    let mine = false;
    let asked = 0;
    const scheduler = new Scheduler({
      clock,
      ownership: {
        owns: () => {
          asked++;
          return mine;
        },
      },
    });
    const runs: number[] = [];
    scheduler.add('x', 100, async () => void runs.push(clock.now()));
    await clock.advance(5_000); // 50 slots
    expect(runs).toEqual([]);
    expect(asked).toBeLessThanOrEqual(1 + 5_000 / PARK_POLL_MS);
    mine = true;
    scheduler.wake();
    const woken = clock.now();
    await clock.advance(100);
    expect(runs).toHaveLength(1);
    // on its grid: the slot wake() found next
    expect(runs[0]).toBe(firstSlot('x', 100, woken));
    await clock.advance(1_000);
    expect(runs).toHaveLength(11);
    scheduler.stop();
  });
});
