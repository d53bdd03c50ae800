export { type Clock, flushMicrotasks, ManualClock, systemClock, type TimerHandle } from '../core/clock.js';
export { InvalidOptionError, isNinesError, NinesError, type NinesErrorCode } from '../core/errors.js';
export type { Unsubscribe } from '../core/events.js';
export { type Backoff, type BackoffOptions, createBackoff } from './backoff.js';
export { BrokenCircuitError, IsolatedCircuitError } from './breaker-errors.js';
export type { WindowSnapshot } from './breaker-window.js';
export { type BulkheadOptions, BulkheadPolicy, BulkheadRejectedError, bulkhead } from './bulkhead.js';
export {
  CircuitBreaker,
  type CircuitBreakerEvents,
  type CircuitBreakerOptions,
  type CircuitBreakerSnapshot,
  type CircuitBreakerStats,
  type CircuitState,
  type IsolationHandle,
} from './circuit-breaker.js';
export { CircuitBreakerRegistry } from './circuit-breaker-registry.js';
export { type Composable, ComposedPolicy, compose } from './compose.js';
export { type FallbackOptions, FallbackPolicy, type FallbackValue, fallback } from './fallback.js';
export type { BreakerMetrics, BreakerOutcome, PolicyMetrics } from './metrics-sink.js';
export type { ExecuteContext, Outcome, OutcomePredicate, Policy, PolicyFn } from './policy.js';
export { type RetryEvents, type RetryOptions, RetryPolicy, retry } from './retry.js';
export { parseRetryAfter } from './retry-after.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export { TimeoutError, type TimeoutOptions, TimeoutPolicy, timeout } from './timeout.js';
