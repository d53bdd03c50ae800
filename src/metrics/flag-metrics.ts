import { Gauge, type Registry } from 'prom-client';
import type { FlagMetrics, FlagSource } from '../degrade/flags/metrics-sink.js';
import { METRICS } from './names.js';

const sources = new WeakMap<Registry, Set<FlagSource>>();

/**
 * Flag metrics on `registry`, fed by `new FlagSet({ metrics: flagMetrics(registry) })`:
 * `nines_flag_enabled{flag}`, 1 while the flag is live (defined, kill switch not pulled, the
 * degradation level at or above its `minLevel`, its parents live), else 0. Read at scrape time, so
 * a change of level shows without an event; rules and rollouts are not evaluated.
 */
export function flagMetrics(registry: Registry): FlagMetrics {
  let observed = sources.get(registry);
  if (observed === undefined) {
    const set = new Set<FlagSource>();
    observed = set;
    sources.set(registry, set);
    new Gauge({
      name: METRICS.flagEnabled,
      help: '1 while the feature flag is live (not killed, level at or above its minimum), else 0',
      labelNames: ['flag'],
      registers: [registry],
      collect() {
        this.reset();
        for (const source of set) for (const [flag, live] of source.liveFlags()) this.labels(flag).set(live ? 1 : 0);
      },
    });
  }
  const set = observed;
  return {
    observe(source) {
      set.add(source);
      return () => set.delete(source);
    },
  };
}
