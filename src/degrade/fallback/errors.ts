import { NinesError } from '../../core/errors.js';
import type { PartialReport } from './partial-failure.js';

/** Thrown by `serviceFallback` when the alternate failed too: `cause` is the alternate's error, `error` the call's. */
export class FallbackFailedError extends NinesError {
  constructor(
    /** The fallback's name. */
    readonly fallback: string,
    /** What the call itself threw (or the outcome it was refused for). */
    readonly error: unknown,
    alternateError: unknown,
  ) {
    super('NINES_FALLBACK_FAILED', `fallback ${fallback}: the call and its alternate both failed`, { cause: alternateError });
  }
}

/** Thrown by `PartialFailureHandler.run` when fewer parts than `minSuccessRate` succeeded; `report` says which failed and why. */
export class PartialFailureError<P = unknown> extends NinesError {
  constructor(
    /** The handler's name. */
    readonly handler: string,
    /** Every part's outcome, as a successful run would have returned it. */
    readonly report: PartialReport<P>,
    /** The rate the run needed. */
    readonly minSuccessRate: number,
  ) {
    super(
      'NINES_PARTIAL_FAILURE',
      `${handler}: ${report.failures.length} of ${report.total} parts failed (success rate ${round(report.successRate)} < ${minSuccessRate})`,
      { cause: report.failures[0]?.error },
    );
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
