import type { Registry } from 'prom-client';
import type { CheckResult } from '../health/types.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

/**
 * Health metrics on `registry`, fed by `new HealthCheckRegistry({ metrics: healthMetrics(registry) })`:
 * `nines_component_up` (0 only when unhealthy), `nines_health_check_duration_seconds`,
 * `nines_health_checks_total{status}`.
 */
export function healthMetrics(registry: Registry): { result(result: CheckResult): void } {
  const up = metric(registry, 'gauge', METRICS.componentUp, '1 when the component is not unhealthy, 0 when it is', ['component']);
  const duration = metric(
    registry,
    'histogram',
    METRICS.healthCheckDurationSeconds,
    'Duration of health check runs',
    ['component'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  const total = metric(registry, 'counter', METRICS.healthChecksTotal, 'Health check runs by resulting status', ['component', 'status']);
  return {
    result(r) {
      up.labels(r.name).set(r.status === 'unhealthy' ? 0 : 1);
      duration.labels(r.name).observe(r.durationMs / 1000);
      total.labels(r.name, r.status).inc();
    },
  };
}
