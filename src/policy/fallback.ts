import { checkFunction } from '../core/validate.js';
import { contextFor, type ExecuteContext, type Outcome, type OutcomePredicate, type PolicyFn } from './policy.js';

/** Options of {@link fallback}. */
export interface FallbackOptions {
  /** Which outcomes get the fallback. Default: every error. */
  on?: OutcomePredicate;
}

/** A value, or a function of the failed outcome that produces one. */
export type FallbackValue<R> = R | ((outcome: Outcome) => R | PromiseLike<R>);

/** Answers with a substitute when the call fails; see {@link fallback}. */
export class FallbackPolicy<R> {
  readonly #produce: (outcome: Outcome) => R | PromiseLike<R>;
  readonly #on: OutcomePredicate | undefined;

  /** `value` is the substitute, or a function of the failed outcome producing one. */
  constructor(value: FallbackValue<R>, options: FallbackOptions = {}) {
    checkFunction('on', options.on);
    this.#on = options.on;
    this.#produce = typeof value === 'function' ? (value as (o: Outcome) => R | PromiseLike<R>) : () => value;
  }

  /** Runs `fn`; the result is `fn`'s value or the fallback's. */
  execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T | R> {
    return this.run<T | R>(fn, contextFor(signal));
  }

  /** Runs `fn` in an existing context; the fallback value must fit `T` (checked by `execute`'s type, not here). */
  async run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    let value: T;
    try {
      value = await fn(context);
    } catch (error) {
      const outcome: Outcome = { ok: false, error };
      if (this.#on !== undefined && !this.#on(outcome)) throw error;
      return (await this.#produce(outcome)) as T;
    }
    if (this.#on === undefined) return value;
    const outcome: Outcome = { ok: true, value };
    return this.#on(outcome) ? ((await this.#produce(outcome)) as T) : value;
  }
}

/** A fallback to `value` (or to what `value(outcome)` returns) when the call fails. */
export function fallback<R>(value: FallbackValue<R>, options?: FallbackOptions): FallbackPolicy<R> {
  return new FallbackPolicy(value, options);
}
