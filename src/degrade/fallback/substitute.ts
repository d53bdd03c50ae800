import { abortReason } from '../../core/abort.js';
import { checkFunction, checkString } from '../../core/validate.js';
import { contextFor, type ExecuteContext, type Outcome, type OutcomePredicate, type PolicyFn } from '../../policy/policy.js';
import type { FallbackAnswer, FallbackSource } from './answer.js';
import { type BoundFallbackMetrics, boundMetrics, type FallbackMetrics } from './metrics-sink.js';

/** Options shared by `staticFallback` and `serviceFallback`. */
export interface SubstituteOptions {
  /** Name in metrics and errors. Default `'default'`. */
  name?: string;
  /** Which outcomes get the substitute (as `fallback`'s `on`). Default: every error. */
  on?: OutcomePredicate;
  /** Where to count answers by source. Default: nowhere. */
  metrics?: FallbackMetrics;
}

/**
 * A policy answering with a substitute when the call fails, like `FallbackPolicy`, that also says
 * where each answer came from. Composes with every policy: `compose(staticFallback(x), breaker, retry)`.
 * A caller that gave up (its signal aborted) gets the abort reason, never a substitute.
 */
export abstract class SubstituteFallback<R> {
  /** Name in metrics and errors. */
  readonly name: string;
  readonly #on: OutcomePredicate | undefined;
  readonly #metrics: BoundFallbackMetrics;
  readonly #source: 'static' | 'service';

  /** `source` is what a substitute is reported as. */
  constructor(source: 'static' | 'service', options: SubstituteOptions) {
    this.#source = source;
    this.name = options.name === undefined ? 'default' : checkString('name', options.name);
    checkFunction('on', options.on);
    this.#on = options.on;
    const sources: FallbackSource[] = ['fresh', source, 'failed'];
    this.#metrics = boundMetrics(options.metrics, this.name, sources);
  }

  /** The substitute for a failed `outcome`; may throw. */
  protected abstract substitute(outcome: Outcome, context: ExecuteContext): Promise<R>;

  /** Runs `fn`; the value is `fn`'s or the substitute. */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | R> {
    return this.run<T | R>(fn, contextFor(signal));
  }

  /** Runs `fn` in an existing context (used by `compose`). */
  async run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    return (await this.answerIn(fn, context)).value as T;
  }

  /** Runs `fn` and says where the value came from (`fresh`, or the substitute's source). */
  answer<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<FallbackAnswer<T | R>> {
    return this.answerIn<T | R>(fn, contextFor(signal));
  }

  /** {@link SubstituteFallback.answer} in an existing context. */
  async answerIn<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<FallbackAnswer<T>> {
    let outcome: Outcome;
    try {
      const value = await fn(context);
      outcome = { ok: true, value };
      if (this.#on === undefined || !this.#on(outcome)) return this.#fresh(value);
    } catch (error) {
      outcome = { ok: false, error };
      if (context.signal.aborted || (this.#on !== undefined && !this.#on(outcome))) {
        this.#metrics.answered('failed');
        throw error;
      }
    }
    if (context.signal.aborted) {
      this.#metrics.answered('failed');
      throw abortReason(context.signal);
    }
    let value: R;
    try {
      value = await this.substitute(outcome, context);
    } catch (error) {
      this.#metrics.answered('failed');
      throw error;
    }
    this.#metrics.answered(this.#source);
    const answer = { value: value as unknown as T, source: this.#source, ageMs: 0 };
    return outcome.ok ? answer : { ...answer, error: outcome.error };
  }

  #fresh<T>(value: T): FallbackAnswer<T> {
    this.#metrics.answered('fresh');
    return { value, source: 'fresh', ageMs: 0 };
  }
}
