import type { Clock, TimerHandle } from '../../core/clock.js';

/** One unref'd timer on the clock at a time, which close() can end early (its sleep resolves false). */
export class Sleeper {
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #wake: ((fired: boolean) => void) | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Resolves true after `ms`, or false when {@link Sleeper.cancel} ends it first. */
  sleep(ms: number): Promise<boolean> {
    this.cancel();
    return new Promise<boolean>((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#clock.setTimeout(() => this.#end(true), ms);
      this.#timer.unref(); // discovery never keeps a process alive
    });
  }

  /** Ends the pending sleep, if any. */
  cancel(): void {
    this.#end(false);
  }

  #end(fired: boolean): void {
    this.#timer?.clear();
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.(fired);
  }
}

/** Delay after the `failures`-th failure in a row: 1 s doubling up to `maxMs`, scaled into [50 %, 100 %] by `random`. */
export function backoffMs(failures: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, 1_000 * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.5 + 0.5 * random()));
}
