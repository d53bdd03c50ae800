import type { CircuitState } from './circuit-breaker.js';

/** How one breaker call ended, as counted by metrics. */
export type BreakerOutcome = 'success' | 'failure' | 'rejected';

/** What a breaker reports; prebound to one breaker so each report is one counter increment. */
export interface BreakerMetrics {
  state(state: CircuitState): void;
  call(outcome: BreakerOutcome): void;
}

/**
 * Where policies report, without importing prom-client: `nines/metrics` implements it with
 * `policyMetrics(registry)`. Leave it out and the policies pay nothing.
 */
export interface PolicyMetrics {
  /** Metrics for the breaker `name`. */
  breaker(name: string): BreakerMetrics;
  /** A counter to bump on each retry of the policy `name`. */
  retry(name: string): { attempt(): void };
}
