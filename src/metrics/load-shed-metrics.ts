import type { Registry } from 'prom-client';
import type { LoadShedMetrics, ShedderMetrics } from '../ratelimit/shed/metrics-sink.js';
import { PRIORITIES, type Priority, SHED_REASONS, type ShedReason } from '../ratelimit/shed/priority.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

/**
 * Load-shedder metrics on `registry`, fed by `new LoadShedder({ metrics: loadShedMetrics(registry) })`:
 * `nines_load_shed_decisions_total{shedder,priority,decision,reason}` (`reason` is `none` when
 * admitted), `nines_load_shed_overloaded{shedder}` (0 or 1) and
 * `nines_load_shed_delay_limit_seconds{shedder}` (the event-loop delay `normal` work may meet now).
 * Label children are bound once per shedder, so a decision costs one increment.
 */
export function loadShedMetrics(registry: Registry): LoadShedMetrics {
  const decisions = metric(registry, 'counter', METRICS.loadShedDecisionsTotal, 'Load-shedder decisions by priority and reason', [
    'shedder',
    'priority',
    'decision',
    'reason',
  ]);
  const overloaded = metric(
    registry,
    'gauge',
    METRICS.loadShedOverloaded,
    '1 while the shedder counts the event loop as overloaded, else 0',
    ['shedder'],
  );
  const limit = metric(registry, 'gauge', METRICS.loadShedDelayLimitSeconds, 'Event-loop delay normal-priority work may meet now', [
    'shedder',
  ]);
  return {
    shedder(name): ShedderMetrics {
      const bound = Object.fromEntries(
        PRIORITIES.map((p) => [
          p,
          {
            admitted: decisions.labels(name, p, 'admitted', 'none'),
            ...Object.fromEntries(SHED_REASONS.map((r) => [r, decisions.labels(name, p, 'shed', r)])),
          },
        ]),
      ) as Record<Priority, Record<ShedReason | 'admitted', { inc(): void }>>;
      const overloadedChild = overloaded.labels(name);
      const limitChild = limit.labels(name);
      return {
        decision: (priority, reason) => bound[priority][reason ?? 'admitted'].inc(),
        state: (isOverloaded, delayLimitMs) => {
          overloadedChild.set(isOverloaded ? 1 : 0);
          limitChild.set(delayLimitMs / 1000);
        },
      };
    },
  };
}
