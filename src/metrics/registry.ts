import { collectDefaultMetrics, Registry } from 'prom-client';

/** A prom-client Registry for nines' metrics; `defaultMetrics` adds Node's own (heap, GC, event loop) with the `nines_` prefix. */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'nines_' });
  return registry;
}
