import { type Clock, systemClock } from '../core/clock.js';
import { checkInteger, checkNumber } from '../core/validate.js';

/** Options of {@link RetryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of calls in the window (0.2 = one retry per five calls). Default 0.2. */
  ratio?: number;
  /** Retries always allowed per second, so a quiet service can still retry. Default 10. */
  minPerSecond?: number;
  /** ms of history the ratio is taken over. Default 10 000. */
  window?: number;
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
}

const SLICES = 10;

/**
 * Caps retries at a share of recent traffic, so when a dependency fails every caller's retries
 * add at most `ratio` more load instead of multiplying it (the idea of Finagle's and gRPC's budgets).
 * Share one budget between the policies that call one dependency.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #sliceMs: number;
  readonly #clock: Clock;
  readonly #epochs = new Float64Array(SLICES).fill(-1);
  readonly #calls = new Float64Array(SLICES);
  readonly #retries = new Float64Array(SLICES);

  /** Validates `options`; see {@link RetryBudgetOptions}. */
  constructor(options: RetryBudgetOptions = {}) {
    this.#ratio = checkNumber('budget.ratio', options.ratio ?? 0.2, 0);
    const window = checkInteger('budget.window', options.window ?? 10_000, SLICES);
    this.#floor = checkNumber('budget.minPerSecond', options.minPerSecond ?? 10) * (window / 1000);
    this.#sliceMs = window / SLICES;
    this.#clock = options.clock ?? systemClock;
  }

  /** Counts one call (a first attempt). */
  recordCall(): void {
    const i = this.#slice();
    this.#calls[i] = (this.#calls[i] ?? 0) + 1;
  }

  /** Takes one retry from the budget; false when none is left. */
  tryRetry(): boolean {
    const i = this.#slice();
    const oldest = (this.#epochs[i] ?? 0) - SLICES;
    let calls = 0;
    let retries = 0;
    for (let s = 0; s < SLICES; s++) {
      if ((this.#epochs[s] ?? -1) > oldest) {
        calls += this.#calls[s] ?? 0;
        retries += this.#retries[s] ?? 0;
      }
    }
    if (retries + 1 > this.#floor + this.#ratio * calls) return false;
    this.#retries[i] = (this.#retries[i] ?? 0) + 1;
    return true;
  }

  #slice(): number {
    const epoch = Math.floor(this.#clock.now() / this.#sliceMs);
    const i = epoch % SLICES;
    if (this.#epochs[i] !== epoch) {
      this.#epochs[i] = epoch;
      this.#calls[i] = 0;
      this.#retries[i] = 0;
    }
    return i;
  }
}
