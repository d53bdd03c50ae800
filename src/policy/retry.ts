import { abortReason, sleep } from '../core/abort.js';
import { type Clock, systemClock } from '../core/clock.js';
import { Events } from '../core/events.js';
import { checkFunction, checkInteger } from '../core/validate.js';
import { type Backoff, type BackoffOptions, createBackoff } from './backoff.js';
import { BrokenCircuitError } from './breaker-errors.js';
import type { PolicyMetrics } from './metrics-sink.js';
import { BasePolicy, type ExecuteContext, type Outcome, type OutcomePredicate, type PolicyFn } from './policy.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Name used in metrics. Default `'default'`. */
  name?: string;
  /** Calls in all, the first included: 3 means one call and up to two retries. Default 3. */
  maxAttempts?: number;
  /** Wait between attempts. Default exponential from 100 ms, ×2, capped at 30 s, full jitter. */
  backoff?: BackoffOptions;
  /** Which outcomes to retry. Default: every error except a broken circuit (an open breaker will not close sooner for being asked again). */
  retryOn?: OutcomePredicate;
  /** Retry budget, shared or per policy; `false` turns it off. Default: a budget of 20 % of calls plus 10 retries/s. */
  budget?: RetryBudget | RetryBudgetOptions | false;
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
  /** Random numbers in [0, 1) for jitter; for tests. Default `Math.random`. */
  random?: () => number;
  /** Where to count retries. Default: nowhere, at no cost. */
  metrics?: PolicyMetrics;
}

/** Events a retry policy emits. */
export interface RetryEvents {
  /** Before waiting for the next attempt. */
  retry: { attempt: number; delayMs: number; outcome: Outcome };
  /** When the policy stops retrying and returns or throws the last outcome. */
  giveUp: { attempts: number; reason: 'maxAttempts' | 'budget'; outcome: Outcome };
}

const defaultRetryOn: OutcomePredicate = (o) => !o.ok && !(o.error instanceof BrokenCircuitError);

/** The `retryAfterMs` an error carries (set by rate limiters and HTTP 429/503 handling), if any. */
function retryAfterOf(outcome: Outcome): number {
  if (outcome.ok) return 0;
  const hint = (outcome.error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof hint === 'number' && Number.isFinite(hint) && hint > 0 ? hint : 0;
}

/** Calls again after a failure, with backoff, under a budget; see {@link retry}. */
export class RetryPolicy extends BasePolicy {
  readonly name: string;
  readonly maxAttempts: number;
  readonly #backoff: Backoff;
  readonly #retryOn: OutcomePredicate;
  readonly #checksResults: boolean;
  readonly #budget: RetryBudget | undefined;
  readonly #clock: Clock;
  readonly #counter: { attempt(): void } | undefined;
  readonly #events = new Events<RetryEvents>();

  /** Validates `options`; see {@link RetryOptions}. */
  constructor(options: RetryOptions = {}) {
    super();
    this.name = options.name ?? 'default';
    this.maxAttempts = checkInteger('maxAttempts', options.maxAttempts ?? 3, 1);
    this.#backoff = createBackoff(options.backoff ?? { type: 'exponential' }, options.random);
    checkFunction('retryOn', options.retryOn);
    this.#retryOn = options.retryOn ?? defaultRetryOn;
    this.#checksResults = options.retryOn !== undefined;
    this.#clock = options.clock ?? systemClock;
    const budget = options.budget ?? {};
    this.#budget =
      budget === false ? undefined : budget instanceof RetryBudget ? budget : new RetryBudget({ clock: this.#clock, ...budget });
    this.#counter = options.metrics?.retry(this.name);
  }

  /** Subscribes to `retry` or `giveUp`. */
  on<K extends keyof RetryEvents>(event: K, listener: (e: RetryEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Runs `fn` in an existing context (used by `compose` to pass `signal` and `attempt` through). */
  async run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    const signal = context.signal;
    this.#budget?.recordCall();
    let previousDelay = 0;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw abortReason(signal);
      const ctx = attempt === context.attempt ? context : { signal, attempt };
      let outcome: Outcome;
      try {
        const value = await fn(ctx);
        if (!this.#checksResults) return value;
        outcome = { ok: true, value };
        if (!this.#retryOn(outcome)) return value;
      } catch (error) {
        outcome = { ok: false, error };
        if (signal.aborted || !this.#retryOn(outcome)) throw error;
      }
      if (attempt >= this.maxAttempts) return this.#giveUp(attempt, 'maxAttempts', outcome);
      if (this.#budget !== undefined && !this.#budget.tryRetry()) return this.#giveUp(attempt, 'budget', outcome);
      const delay = Math.max(this.#backoff(attempt, previousDelay), retryAfterOf(outcome));
      previousDelay = delay;
      this.#counter?.attempt();
      this.#events.emit('retry', { attempt: attempt + 1, delayMs: delay, outcome });
      if (delay > 0) await sleep(delay, signal, this.#clock);
    }
  }

  #giveUp<T>(attempts: number, reason: 'maxAttempts' | 'budget', outcome: Outcome): T {
    this.#events.emit('giveUp', { attempts, reason, outcome });
    if (outcome.ok) return outcome.value as T;
    throw outcome.error;
  }
}

/** A retry policy; `maxAttempts` counts every call, the first included (cockatiel counts only retries). */
export function retry(options?: RetryOptions): RetryPolicy {
  return new RetryPolicy(options);
}
