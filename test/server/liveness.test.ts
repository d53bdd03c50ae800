import { afterEach, describe, expect, it } from 'vitest';
import { EventLoopLag } from '../../src/health/event-loop-lag.js';
import { ManualClock } from '../../src/policy/index.js';
import { LivenessWatchdog, servedLivenessProblems, servedLivenessWatchdog } from '../../src/server/liveness.js';
import { harness } from './harness.js';

/** A watchdog whose liveness answers come from `answers` (true = alive), one per evaluation, the last repeated. */
function watchdog(exitAfter: number, answers: boolean[], every?: number) {
  const clock = new ManualClock(0);
  const evaluations: number[] = [];
  const failed: Array<{ at: number; problems: string[] }> = [];
  const dog = new LivenessWatchdog({
    exitAfter,
    clock,
    ...(every === undefined ? {} : { every }),
    problems: () => {
      const alive = answers[Math.min(evaluations.length, answers.length - 1)];
      evaluations.push(clock.now());
      return alive ? [] : ['stuck'];
    },
    onFailed: (problems) => failed.push({ at: clock.now(), problems }),
  });
  return { clock, dog, evaluations, failed };
}

describe('LivenessWatchdog', () => {
  it('is off when exitAfter is 0: no timer, no evaluation', async () => {
    const w = watchdog(0, [false]);
    w.dog.start();
    expect(w.dog.enabled).toBe(false);
    expect(w.clock.pendingTimers).toBe(0);
    await w.clock.advance(3_600_000);
    expect(w.evaluations).toEqual([]);
    expect(w.failed).toEqual([]);
  });

  it('fails once liveness has failed at every evaluation for exitAfter, and only once', async () => {
    const w = watchdog(3_000, [false]); // every 1 s
    w.dog.start();
    await w.clock.advance(3_999);
    expect(w.evaluations).toEqual([1_000, 2_000, 3_000]);
    expect(w.failed).toEqual([]); // failing since 1 s: 2 s so far
    await w.clock.advance(1);
    expect(w.failed).toEqual([{ at: 4_000, problems: ['stuck'] }]);
    expect(w.dog.fired).toBe(true);
    expect(w.clock.pendingTimers).toBe(0); // stops evaluating
    await w.clock.advance(60_000);
    expect(w.failed).toHaveLength(1);
  });

  it('starts the count again after one passing evaluation', async () => {
    const w = watchdog(3_000, [false, false, true, false]);
    w.dog.start();
    await w.clock.advance(6_999);
    expect(w.failed).toEqual([]); // the pass at 3 s reset it; failing since 4 s
    await w.clock.advance(1);
    expect(w.failed.map((f) => f.at)).toEqual([7_000]);
  });

  it('a pass just before exitAfter is reached keeps it running', async () => {
    const w = watchdog(3_000, [false, false, false, true, false, false, false, true]);
    w.dog.start();
    await w.clock.advance(60_000);
    expect(w.failed).toEqual([]); // every streak ended at 3 s of failing, one evaluation short
    expect(w.evaluations).toHaveLength(60);
  });

  it('evaluates every exitAfter / 3, at most every 10 s', async () => {
    const w = watchdog(60_000, [true]);
    w.dog.start();
    await w.clock.advance(30_000);
    expect(w.evaluations).toEqual([10_000, 20_000, 30_000]);
    const fast = watchdog(900, [true]);
    fast.dog.start();
    await fast.clock.advance(900);
    expect(fast.evaluations).toEqual([300, 600, 900]);
  });

  it('stop() ends the evaluations and forgets the streak', async () => {
    const w = watchdog(3_000, [false]);
    w.dog.start();
    await w.clock.advance(3_000);
    w.dog.stop();
    expect(w.clock.pendingTimers).toBe(0);
    w.dog.start();
    await w.clock.advance(3_999); // failing since 4 s (the first evaluation after the restart)
    expect(w.failed).toEqual([]);
    await w.clock.advance(3_000);
    expect(w.failed.map((f) => f.at)).toEqual([7_000]);
  });
});

describe('servedLivenessProblems', () => {
  const open: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of open.splice(0)) await close();
  });

  it('names the heap past maxHeapRatio and every overdue component', () => {
    const loop = new EventLoopLag();
    expect(servedLivenessProblems(loop, { maxHeapRatio: 1 }, { overdue: () => [] })).toEqual([]);
    expect(servedLivenessProblems(loop, { maxHeapRatio: 0.000001 }, { overdue: () => ['api'] })).toEqual([
      expect.stringMatching(/^heap \d+\.\d % of its limit$/),
      'api has had no result for three intervals (schedule stuck)',
    ]);
  });

  it('is what /liveness answers, with the limits of server.liveness', async () => {
    const h = await harness({ yaml: (text) => `server: { liveness: { maxHeapRatio: 0.000001 } }\n${text}` });
    open.push(h.close);
    const res = await h.app.inject('/liveness');
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/^heap \d+\.\d % of its limit$/);
  });

  it("serve's watchdog asks it on its own clock and calls onFailed once", async () => {
    const clock = new ManualClock(0);
    const failed: string[][] = [];
    const dog = servedLivenessWatchdog({
      liveness: { maxHeapRatio: 0.000001, exitAfter: 1_000 },
      monitor: { overdue: () => [] },
      onFailed: (problems) => failed.push(problems),
      clock,
    });
    dog.start();
    await clock.advance(10_000);
    expect(failed).toEqual([[expect.stringMatching(/^heap /)]]);
    dog.stop();
    const off = servedLivenessWatchdog({
      liveness: { exitAfter: 0 },
      monitor: { overdue: () => ['x'] },
      onFailed: () => failed.push([]),
      clock,
    });
    off.start();
    expect(clock.pendingTimers).toBe(0);
  });
});
