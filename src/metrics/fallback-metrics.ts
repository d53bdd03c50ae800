import type { Registry } from 'prom-client';
import type { BoundFallbackMetrics, FallbackMetrics, FallbackSource } from '../degrade/fallback/index.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

/**
 * Fallback metrics on `registry`: `nines_fallback_total{fallback, source}`, source `fresh`, `cache`,
 * `stale`, `static`, `service`, `partial` or `failed`; each fallback's possible sources at 0 from its
 * start. Label children are bound once per fallback, so an answer costs one increment.
 */
export function fallbackMetrics(registry: Registry): FallbackMetrics {
  const total = metric(registry, 'counter', METRICS.fallbackTotal, 'Fallback answers by where they came from', ['fallback', 'source']);
  return {
    fallback(name, sources): BoundFallbackMetrics {
      const bound = new Map<FallbackSource, { inc(): void }>();
      for (const s of sources) {
        const child = total.labels(name, s);
        child.inc(0); // exported from the start, so rate() sees the first answer of each source
        bound.set(s, child);
      }
      return { answered: (source) => (bound.get(source) ?? total.labels(name, source)).inc() };
    },
  };
}
