import { abortable, abortReason } from '../../core/abort.js';
import { InvalidOptionError } from '../../core/errors.js';
import { checkNumber, checkString } from '../../core/validate.js';
import type { Composable } from '../../policy/compose.js';
import type { ExecuteContext, PolicyFn } from '../../policy/policy.js';
import { checkPolicy } from './check-policy.js';
import { PartialFailureError } from './errors.js';
import { type BoundFallbackMetrics, boundMetrics, type FallbackMetrics } from './metrics-sink.js';

/** Options of {@link PartialFailureHandler}. */
export interface PartialFailureOptions {
  /** Name in metrics and errors. Default `'default'`. */
  name?: string;
  /** Share of parts, 0 to 1, that must succeed for the run to succeed. */
  minSuccessRate: number;
  /** Policies each part runs under, e.g. `timeout(500)` for a per-part timeout. Default: none. */
  policy?: Composable;
  /** Where to count runs: `fresh` (every part), `partial`, `failed`. Default: nowhere. */
  metrics?: FallbackMetrics;
}

/** The sub-operations of one run, named by key (an object) or by index (an array). */
export type Parts = Readonly<Record<string, PolicyFn<unknown>>> | readonly PolicyFn<unknown>[];

/** The values of the parts that succeeded, under their names (an array keeps its indices, with holes). */
export type PartValues<P> = { -readonly [K in keyof P]?: P[K] extends PolicyFn<infer T> ? Awaited<T> : never };

/** A part that failed, and why. */
export interface PartFailure {
  /** The part's key, or its index as a string. */
  readonly part: string;
  /** What it threw (a `TimeoutError` for a per-part timeout), kept as it was. */
  readonly error: unknown;
}

/** What a run returns, and what a {@link PartialFailureError} carries. */
export interface PartialReport<P = unknown> {
  /** `fresh` when every part succeeded, `partial` when some failed. */
  readonly source: 'fresh' | 'partial';
  readonly values: PartValues<P>;
  /** Names of the parts that succeeded, in the order given. */
  readonly succeeded: readonly string[];
  /** The parts that failed, in the order given. */
  readonly failures: readonly PartFailure[];
  readonly total: number;
  /** `succeeded.length / total`; 1 for no parts. */
  readonly successRate: number;
}

/**
 * Runs sub-operations in parallel and succeeds with what came back if at least `minSuccessRate` of
 * them succeeded (a page with one widget missing); below it, throws a {@link PartialFailureError}
 * with the same report. Parts share one signal, aborted when the caller's is.
 */
export class PartialFailureHandler {
  /** Name in metrics and errors. */
  readonly name: string;
  /** Share of parts that must succeed. */
  readonly minSuccessRate: number;
  readonly #policy: Composable | undefined;
  readonly #metrics: BoundFallbackMetrics;

  /** Validates `options`; see {@link PartialFailureOptions}. */
  constructor(options: PartialFailureOptions) {
    this.name = options.name === undefined ? 'default' : checkString('name', options.name);
    this.minSuccessRate = checkNumber('minSuccessRate', options.minSuccessRate, 0, 1);
    checkPolicy('policy', options.policy);
    this.#policy = options.policy;
    this.#metrics = boundMetrics(options.metrics, this.name, ['fresh', 'partial', 'failed']);
  }

  /** Runs every part at once; resolves when all have settled, rejects at once if `signal` aborts. */
  async run<P extends Parts>(parts: P, signal?: AbortSignal): Promise<PartialReport<P>> {
    if (signal?.aborted) throw abortReason(signal);
    const list = Array.isArray(parts);
    const names = list ? parts.map((_, i) => String(i)) : Object.keys(parts);
    const fns = names.map((name) => {
      const fn = (parts as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new InvalidOptionError(`parts.${name} must be a function, got ${typeof fn}`);
      return fn as PolicyFn<unknown>;
    });
    const controller = new AbortController();
    const onAbort = () => controller.abort(abortReason(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    const context: ExecuteContext = { signal: controller.signal, attempt: 1 };
    const policy = this.#policy;
    const settled = Promise.allSettled(fns.map(async (fn) => (policy === undefined ? fn(context) : policy.run(fn, context))));
    let results: PromiseSettledResult<unknown>[];
    try {
      results = signal === undefined ? await settled : await abortable(settled, signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    const report = this.#report<P>(names, results, list);
    if (report.successRate >= this.minSuccessRate) {
      this.#metrics.answered(report.source);
      return report;
    }
    this.#metrics.answered('failed');
    throw new PartialFailureError<P>(this.name, report, this.minSuccessRate);
  }

  #report<P>(names: string[], results: PromiseSettledResult<unknown>[], list: boolean): PartialReport<P> {
    const values = (list ? new Array(names.length) : {}) as Record<string | number, unknown>;
    const succeeded: string[] = [];
    const failures: PartFailure[] = [];
    results.forEach((r, i) => {
      const part = names[i] as string;
      if (r.status === 'fulfilled') {
        values[list ? i : part] = r.value;
        succeeded.push(part);
      } else failures.push({ part, error: r.reason });
    });
    const total = names.length;
    return {
      source: failures.length === 0 ? 'fresh' : 'partial',
      values: values as PartValues<P>,
      succeeded,
      failures,
      total,
      successRate: total === 0 ? 1 : succeeded.length / total,
    };
  }
}
