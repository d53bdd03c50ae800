import type { Registry } from 'prom-client';
import type { BoundQueueMetrics, QueueMetrics, QueueOutcome } from '../ratelimit/queue/metrics-sink.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

const OUTCOMES: readonly QueueOutcome[] = ['completed', 'failed', 'rejected', 'wait_timeout', 'run_timeout', 'aborted'];
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Queue metrics on `registry`, fed by `new QueueManager({ metrics: queueMetrics(registry), name })`:
 * `nines_queue_depth`, `nines_queue_running`, `nines_queue_wait_duration_seconds`,
 * `nines_queue_run_duration_seconds` and `nines_queue_tasks_total{outcome}`, all labelled `name`.
 * Label children are bound once per queue, so a report is one update.
 */
export function queueMetrics(registry: Registry): QueueMetrics {
  const depth = metric(registry, 'gauge', METRICS.queueDepth, 'Tasks waiting in a queue', ['name']);
  const running = metric(registry, 'gauge', METRICS.queueRunning, 'Tasks running from a queue', ['name']);
  const waited = metric(
    registry,
    'histogram',
    METRICS.queueWaitDurationSeconds,
    'Time tasks waited before they started',
    ['name'],
    BUCKETS,
  );
  const ran = metric(registry, 'histogram', METRICS.queueRunDurationSeconds, "Time tasks' functions ran", ['name'], BUCKETS);
  const tasks = metric(registry, 'counter', METRICS.queueTasksTotal, 'Tasks by how their promise settled', ['name', 'outcome']);
  return {
    queue(name): BoundQueueMetrics {
      const d = depth.labels(name);
      const r = running.labels(name);
      const w = waited.labels(name);
      const t = ran.labels(name);
      const outcomes = {} as Record<QueueOutcome, { inc(n?: number): void }>;
      for (const o of OUTCOMES) {
        outcomes[o] = tasks.labels(name, o);
        outcomes[o].inc(0); // every outcome is exported from the start, so rate() sees its first increment
      }
      return {
        depth: (n) => d.set(n),
        running: (n) => r.set(n),
        waited: (ms) => w.observe(ms / 1000),
        ran: (ms) => t.observe(ms / 1000),
        outcome: (o) => outcomes[o].inc(),
      };
    },
  };
}
