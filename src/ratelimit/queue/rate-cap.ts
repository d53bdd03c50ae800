import { InvalidOptionError } from '../../core/errors.js';
import { checkInteger, checkNumber } from '../../core/validate.js';

/** Options of a queue's rate cap: at most `limit` task starts in any `interval` ms. */
export interface RateCapOptions {
  /** Task starts allowed per interval (at most 1,000,000: the cap keeps the time of each). */
  limit: number;
  /** Length of the sliding interval, in ms. */
  interval: number;
}

const MAX_LIMIT = 1_000_000;
/** The longest delay a Node timer takes (a longer one fires after 1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * An exact sliding log of the last `limit` start times, in a ring. A start is allowed when fewer
 * than `limit` starts fall in `(now - interval, now]`, so no window of `interval` ms ever holds more
 * than `limit` starts (a fixed window lets through up to 2 × limit across its edge).
 */
export class RateCap {
  readonly limit: number;
  readonly interval: number;
  readonly #starts: Float64Array;
  #next = 0;
  #count = 0;

  /** Validates `options`; see {@link RateCapOptions}. */
  constructor(options: RateCapOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('rateCap must be { limit, interval }');
    this.limit = checkInteger('rateCap.limit', options.limit, 1, MAX_LIMIT);
    this.interval = checkNumber('rateCap.interval', options.interval, 1, MAX_TIMER_MS);
    this.#starts = new Float64Array(this.limit);
  }

  /** ms to wait at `now` before the next start is allowed; 0 when it is allowed now. */
  delay(now: number): number {
    if (this.#count < this.limit) return 0;
    return Math.max(0, (this.#starts[this.#next] as number) + this.interval - now);
  }

  /** Records a start at `now`; call only when {@link RateCap.delay} is 0. */
  record(now: number): void {
    this.#starts[this.#next] = now;
    this.#next = this.#next + 1 === this.limit ? 0 : this.#next + 1;
    if (this.#count < this.limit) this.#count++;
  }
}
