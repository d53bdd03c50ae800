import { checkInteger, checkNumber } from '../core/validate.js';

/**
 * Marks a component as flapping when its pass/fail state changed more than `threshold` times
 * within `window` ms, so alerts can hold off instead of paging on every transition.
 */
export class FlapDetector {
  readonly #threshold: number;
  readonly #window: number;
  readonly #changes: number[] = [];
  #lastFailed: boolean | undefined;

  constructor(options: { threshold: number; window: number }) {
    this.#threshold = checkInteger('flapThreshold', options.threshold, 1);
    this.#window = checkNumber('flapWindow', options.window, 1);
  }

  /** Feeds one result (in time order); returns whether the component is flapping now. */
  observe(time: number, failed: boolean): boolean {
    if (this.#lastFailed !== undefined && failed !== this.#lastFailed) this.#changes.push(time);
    this.#lastFailed = failed;
    return this.flapping(time);
  }

  /** Whether more than `threshold` state changes happened in the `window` before `now`. */
  flapping(now: number): boolean {
    while (this.#changes.length > 0 && (this.#changes[0] ?? 0) <= now - this.#window) this.#changes.shift();
    return this.#changes.length > this.#threshold;
  }
}
