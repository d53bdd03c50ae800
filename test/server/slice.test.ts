import { describe, expect, it } from 'vitest';
import { slicer } from '../../src/server/slice.js';

/** Keeps the thread busy for `ms`, like a synchronous SQLite read (so a timer due at once is due by the next step). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * Runs 40 steps of 1 ms of synchronous work, each also moving `time` by 1 ms, awaiting `pause`
 * between them; the step a timer due at once fired in.
 */
async function stepTimerFiredIn(pause: () => Promise<void>, time = { ms: 0 }): Promise<number> {
  let fired = false;
  setTimeout(() => {
    fired = true;
  }, 0);
  for (let step = 0; step < 40; step++) {
    busy(1);
    time.ms++;
    await pause();
    if (fired) return step;
  }
  await new Promise((r) => setTimeout(r, 5));
  return fired ? 40 : -1;
}

describe('slicer', () => {
  it('lets a due timer run during a long chain of awaited synchronous steps', async () => {
    expect(await stepTimerFiredIn(async () => {})).toBe(40); // a plain await never yields to timers
    // the slice is measured on a clock the test moves (1 ms a step), so a busy machine cannot shift it
    const time = { ms: 0 };
    const step = await stepTimerFiredIn(
      slicer(5, () => time.ms),
      time,
    );
    // it yields after steps 4, 9, …; the first yield may land before the timers phase, the second cannot
    expect([4, 9]).toContain(step);
  });
});
