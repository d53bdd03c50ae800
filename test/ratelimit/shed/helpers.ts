import { ManualClock } from '../../../src/core/clock.js';
import {
  LoadShedder,
  type LoadShedderOptions,
  type LoopReading,
  type Priority,
  type ShedReason,
} from '../../../src/ratelimit/shed/index.js';

/** An event loop the test drives: the delay it reports now, and idle time that grows only when told. */
export class FakeLoop implements LoopReading {
  delayMs = 0;
  idleMs = 0;
}

/** A shedder on a ManualClock and a FakeLoop, plus a recording metrics sink. */
export function newShedder(options: LoadShedderOptions = {}) {
  const clock = new ManualClock(1_000_000);
  const loop = new FakeLoop();
  const decisions: [Priority, ShedReason | undefined][] = [];
  const states: [boolean, number][] = [];
  const metrics = {
    shedder: () => ({
      decision: (p: Priority, r: ShedReason | undefined) => void decisions.push([p, r]),
      state: (o: boolean, limit: number) => void states.push([o, limit]),
    }),
  };
  const shedder = new LoadShedder({ clock, loop, metrics, ...options });
  /**
   * Moves time by `ms` in 10 ms steps (the default sampling window), the loop idle (`free`) or busy
   * in each, and lets the shedder see every window.
   */
  const run = async (ms: number, free: boolean) => {
    for (let t = 0; t < ms; t += 10) {
      if (free) loop.idleMs += 5;
      await clock.advance(10);
      void shedder.overloaded;
    }
  };
  return { shedder, clock, loop, decisions, states, run };
}
