import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

type Kind = { counter: Counter<string>; gauge: Gauge<string>; histogram: Histogram<string> };

/**
 * The metric `name` on `registry`, created on first use. Several sinks on one registry then share
 * a metric instead of failing on a duplicate name.
 */
export function metric<K extends keyof Kind>(
  registry: Registry,
  kind: K,
  name: string,
  help: string,
  labelNames: string[],
  buckets?: number[],
): Kind[K] {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Kind[K];
  const config = { name, help, labelNames, registers: [registry] };
  if (kind === 'counter') return new Counter(config) as Kind[K];
  if (kind === 'gauge') return new Gauge(config) as Kind[K];
  return new Histogram(buckets ? { ...config, buckets } : config) as Kind[K];
}
