import type { Outcome } from '../../policy/policy.js';
import { SubstituteFallback, type SubstituteOptions } from './substitute.js';

/** Answers with one fixed value when the call fails; see {@link staticFallback}. */
export class StaticFallback<R> extends SubstituteFallback<R> {
  readonly #value: R;

  /** `value` is answered as it is (a function too: it is not called). */
  constructor(value: R, options: SubstituteOptions = {}) {
    super('static', options);
    this.#value = value;
  }

  protected substitute(_outcome: Outcome): Promise<R> {
    return Promise.resolve(this.#value);
  }
}

/** A fallback to the fixed `value` (an empty list, a default config), reported as source `static`. */
export function staticFallback<R>(value: R, options?: SubstituteOptions): StaticFallback<R> {
  return new StaticFallback(value, options);
}
