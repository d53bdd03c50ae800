import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * prom-client's default gauges named like counters, which `promtool check metrics` rejects; each
 * equals the sum of its per-type gauge (`sum(nines_nodejs_active_handles)`), which stays.
 */
const COUNTER_NAMED_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * A prom-client Registry for nines' metrics; `defaultMetrics` adds Node's own (heap, GC, event
 * loop) with the `nines_` prefix, leaving out the three gauges whose `_total` names break
 * Prometheus naming.
 */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) {
    // prom-client samples the event loop every 10 ms by default: 100 wake-ups a second, the largest
    // share of an idle process's CPU; 50 ms still resolves the lag metrics' percentiles usefully
    collectDefaultMetrics({ register: registry, prefix: 'nines_', eventLoopMonitoringPrecision: 50 });
    for (const name of COUNTER_NAMED_GAUGES) registry.removeSingleMetric(`nines_${name}`);
  }
  return registry;
}
