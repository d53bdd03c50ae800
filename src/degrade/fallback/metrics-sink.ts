import type { FallbackSource } from './answer.js';

/** What one fallback reports; prebound to its name, so a report is one increment. */
export interface BoundFallbackMetrics {
  /** One answer (or failure) from this source. */
  answered(source: FallbackSource): void;
}

/**
 * Where fallbacks report, without importing prom-client: `nines/metrics` implements it with
 * `fallbackMetrics(registry)`. Leave it out and a fallback pays nothing.
 */
export interface FallbackMetrics {
  /** Metrics for the fallback `name`; `sources` are those it can answer from, exported at 0 from the start. */
  fallback(name: string, sources: readonly FallbackSource[]): BoundFallbackMetrics;
}

const silent: BoundFallbackMetrics = { answered: () => undefined };

/** The bound metrics of `name`, or a no-op when there is no sink. */
export function boundMetrics(metrics: FallbackMetrics | undefined, name: string, sources: readonly FallbackSource[]): BoundFallbackMetrics {
  return metrics === undefined ? silent : metrics.fallback(name, sources);
}
