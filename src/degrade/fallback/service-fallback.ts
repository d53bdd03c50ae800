import { InvalidOptionError } from '../../core/errors.js';
import type { Composable } from '../../policy/compose.js';
import type { ExecuteContext, Outcome } from '../../policy/policy.js';
import { checkPolicy } from './check-policy.js';
import { FallbackFailedError } from './errors.js';
import { SubstituteFallback, type SubstituteOptions } from './substitute.js';

/** The alternate service: called with the caller's context (its signal) and the failed outcome. */
export type AlternateFn<R> = (context: ExecuteContext, outcome: Outcome) => R | PromiseLike<R>;

/** Options of {@link serviceFallback}. */
export interface ServiceFallbackOptions extends SubstituteOptions {
  /** Policies the alternate runs under (its own timeout, breaker). Default: none. */
  policy?: Composable;
}

/** Answers from an alternate service when the call fails; see {@link serviceFallback}. */
export class ServiceFallback<R> extends SubstituteFallback<R> {
  readonly #alternate: AlternateFn<R>;
  readonly #policy: Composable | undefined;

  /** `alternate` is called once per failed call. */
  constructor(alternate: AlternateFn<R>, options: ServiceFallbackOptions = {}) {
    super('service', options);
    if (typeof alternate !== 'function') throw new InvalidOptionError(`alternate must be a function, got ${typeof alternate}`);
    checkPolicy('policy', options.policy);
    this.#alternate = alternate;
    this.#policy = options.policy;
  }

  protected async substitute(outcome: Outcome, context: ExecuteContext): Promise<R> {
    const call = (ctx: ExecuteContext) => this.#alternate(ctx, outcome);
    try {
      return await (this.#policy === undefined ? call(context) : this.#policy.run(call, context));
    } catch (error) {
      throw new FallbackFailedError(this.name, outcome.ok ? outcome.value : outcome.error, error);
    }
  }
}

/** A fallback to `alternate` (a replica, a second provider), reported as source `service`; if it fails too, a `FallbackFailedError`. */
export function serviceFallback<R>(alternate: AlternateFn<R>, options?: ServiceFallbackOptions): ServiceFallback<R> {
  return new ServiceFallback(alternate, options);
}
