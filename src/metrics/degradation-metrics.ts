import type { Registry } from 'prom-client';
import { DEGRADATION_LEVELS } from '../degrade/levels/levels.js';
import type { DegradationMetrics } from '../degrade/levels/metrics-sink.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

/**
 * Degradation metrics on `registry`, fed by `new DegradationManager({ metrics: degradationMetrics(registry) })`:
 * `nines_degradation_level{level}` and `nines_degradation_reason{reason}`, each 1 for the current
 * value and 0 for the others (a state set, like `nines_circuit_breaker_state`). `reason` is bounded:
 * a rule's name, `manual` while an override is set, `none` when no rule matches; the free-text
 * reason is in `/health` and the audit records, not in a label.
 */
export function degradationMetrics(registry: Registry): DegradationMetrics {
  const level = metric(registry, 'gauge', METRICS.degradationLevel, 'Degradation level: 1 for the current level, 0 for the others', [
    'level',
  ]);
  const reason = metric(
    registry,
    'gauge',
    METRICS.degradationReason,
    'Why the degradation level is what it is: 1 for the rule setting it (manual for an override, none for no rule), 0 for the others',
    ['reason'],
  );
  return {
    manager(reasons) {
      const levels = DEGRADATION_LEVELS.map((l) => [l, level.labels(l)] as const);
      const causes = reasons.map((r) => [r, reason.labels(r)] as const);
      return {
        state(current, why) {
          for (const [l, g] of levels) g.set(l === current ? 1 : 0);
          for (const [r, g] of causes) g.set(r === why ? 1 : 0);
        },
      };
    },
  };
}
