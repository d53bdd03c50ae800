import { describe, expect, it } from 'vitest';
import { slicer } from '../../src/server/slice.js';

/** Keeps the thread busy for `ms`, like a synchronous SQLite read. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Runs 40 steps of 1 ms of synchronous work, awaiting `pause` between them; the step a timer due at once fired in. */
async function stepTimerFiredIn(pause: () => Promise<void>): Promise<number> {
  let fired = false;
  setTimeout(() => {
    fired = true;
  }, 0);
  for (let step = 0; step < 40; step++) {
    busy(1);
    await pause();
    if (fired) return step;
  }
  await new Promise((r) => setTimeout(r, 5));
  return fired ? 40 : -1;
}

describe('slicer', () => {
  it('lets a due timer run during a long chain of awaited synchronous steps', async () => {
    expect(await stepTimerFiredIn(async () => {})).toBe(40); // a plain await never yields to timers
    const step = await stepTimerFiredIn(slicer(5));
    expect(step).toBeGreaterThanOrEqual(4);
    expect(step).toBeLessThan(40);
  });
});
