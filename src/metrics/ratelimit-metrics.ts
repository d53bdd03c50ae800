import type { Registry } from 'prom-client';
import type { LimiterMetrics, RateLimitMetrics } from '../ratelimit/index.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

/**
 * Rate-limit metrics on `registry`: `nines_rate_limit_decisions_total{limiter, decision}`, decision
 * `allowed` or `rejected`, both at 0 from the limiter's start. Label children are bound once per
 * limiter, so a decision costs one increment.
 */
export function rateLimitMetrics(registry: Registry): RateLimitMetrics {
  const decisions = metric(registry, 'counter', METRICS.rateLimitDecisionsTotal, 'Rate limiter decisions by outcome', [
    'limiter',
    'decision',
  ]);
  return {
    limiter(name): LimiterMetrics {
      const allowed = decisions.labels(name, 'allowed');
      const rejected = decisions.labels(name, 'rejected');
      // both exported from the start, so rate() sees the first decision of each
      allowed.inc(0);
      rejected.inc(0);
      return { decision: (ok) => (ok ? allowed : rejected).inc() };
    },
  };
}
