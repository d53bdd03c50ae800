import { InvalidOptionError } from '../core/errors.js';
import { BasePolicy, type ExecuteContext, type Policy, type PolicyFn } from './policy.js';

/** Anything that can run a function in a context: every nines policy. */
export type Composable = Pick<Policy, 'run'>;

/** Policies nested outermost first: `compose(retry, breaker, timeout)` retries calls that go through the breaker, each under the timeout. */
export class ComposedPolicy extends BasePolicy {
  readonly #policies: readonly Composable[];

  /** Policies outermost first; each must have a `run` method. */
  constructor(policies: readonly Composable[]) {
    super();
    for (const [i, p] of policies.entries()) {
      if (typeof p?.run !== 'function') throw new InvalidOptionError(`policies[${i}] is not a nines policy`);
    }
    this.#policies = policies;
  }

  /** Runs `fn` in an existing context (used by `compose` to pass `signal` and `attempt` through). */
  run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    if (this.#policies.length === 0) return (async () => fn(context))();
    return this.#runFrom(0, fn, context);
  }

  #runFrom<T>(index: number, fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    const policy = this.#policies[index] as Composable;
    if (index === this.#policies.length - 1) return policy.run(fn, context);
    return policy.run((ctx) => this.#runFrom(index + 1, fn, ctx), context);
  }
}

/** Combines policies into one, outermost first. */
export function compose(...policies: Composable[]): ComposedPolicy {
  return new ComposedPolicy(policies);
}
