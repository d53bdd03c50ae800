/** A cancellable timer handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Cancels the timer; calling it twice is harmless. */
  clear(): void;
  /** Lets the process exit while this timer is pending. */
  unref(): void;
  /** Makes this timer keep the process alive again (the default). */
  ref(): void;
}

/** Source of time for every policy, so tests can drive time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock, so snapshots survive a restart). */
  now(): number;
  /** Runs `fn` after `ms`; the timer keeps the process alive until it fires, is cleared or unref'd. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** The real clock: `Date.now()` and Node timers. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { clear: () => clearTimeout(t), unref: () => t.unref(), ref: () => t.ref() };
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cleared: boolean;
}

/** A clock that moves only when told to; for tests of code that uses nines policies. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  /** Starts at `start` ms since the epoch (default 0). */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current manual time. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` for `ms` from the manual now; it fires during {@link ManualClock.advance}. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cleared: false };
    this.#timers.push(timer);
    return {
      clear: () => {
        timer.cleared = true;
        this.#timers = this.#timers.filter((t) => t !== timer);
      },
      unref: () => undefined,
      ref: () => undefined,
    };
  }

  /** Number of timers still waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await flushMicrotasks();
    }
    this.#now = target;
    await flushMicrotasks();
  }

  /** Moves time forward to `time`, firing every timer due by then, like {@link ManualClock.advance}. */
  async set(time: number): Promise<void> {
    await this.advance(time - this.#now);
  }

  #nextDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers) {
      if (t.at <= limit && (best === undefined || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    return best;
  }
}

/** Lets every queued promise callback run (several turns, since chains take one turn per link). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
