import type { Registry } from 'prom-client';
import type { LifecycleMetrics } from '../lifecycle/index.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

/**
 * Lifecycle metrics on `registry`, fed by `new GracefulShutdown({ metrics: lifecycleMetrics(registry) })`:
 * `nines_http_requests_in_flight` and `nines_shutdown_in_progress` (0 or 1). Several shutdowns on one
 * registry share the gauges, so the in-flight gauge adds and subtracts instead of setting.
 */
export function lifecycleMetrics(registry: Registry): LifecycleMetrics {
  const inFlight = metric(registry, 'gauge', METRICS.httpRequestsInFlight, 'HTTP requests in progress', []);
  const shutdown = metric(registry, 'gauge', METRICS.shutdownInProgress, '1 while a graceful shutdown is in progress, else 0', []);
  return {
    inFlight: (delta) => inFlight.inc(delta),
    shuttingDown: (active) => shutdown.set(active ? 1 : 0),
  };
}
