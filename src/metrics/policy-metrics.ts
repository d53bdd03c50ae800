import type { Registry } from 'prom-client';
import type { BreakerMetrics, CircuitState, PolicyMetrics } from '../policy/index.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];

/**
 * Policy metrics on `registry` (names from docs/metrics.md): `nines_circuit_breaker_state`,
 * `nines_circuit_breaker_calls_total`, `nines_retry_attempts_total`. Label children are bound
 * once per breaker, so a call costs one increment.
 */
export function policyMetrics(registry: Registry): PolicyMetrics {
  const state = metric(registry, 'gauge', METRICS.circuitBreakerState, 'Circuit breaker state: 1 for the current state, 0 for the others', [
    'name',
    'state',
  ]);
  const calls = metric(registry, 'counter', METRICS.circuitBreakerCallsTotal, 'Calls through a circuit breaker by outcome', [
    'name',
    'outcome',
  ]);
  const retries = metric(registry, 'counter', METRICS.retryAttemptsTotal, 'Retries made (first attempts not counted)', ['name']);
  return {
    breaker(name): BreakerMetrics {
      const outcomes = {
        success: calls.labels(name, 'success'),
        failure: calls.labels(name, 'failure'),
        rejected: calls.labels(name, 'rejected'),
      };
      const gauges = STATES.map((s) => [s, state.labels(name, s)] as const);
      return {
        call: (outcome) => outcomes[outcome].inc(),
        state: (current) => {
          for (const [s, g] of gauges) g.set(s === current ? 1 : 0);
        },
      };
    },
    retry(name) {
      const child = retries.labels(name);
      return { attempt: () => child.inc() };
    },
  };
}
