/**
 * How a task left the queue: `completed` or `failed` (its function returned or threw), `rejected`
 * (queue full or draining), `wait_timeout`, `run_timeout`, or `aborted` (the caller's signal).
 */
export type QueueOutcome = 'completed' | 'failed' | 'rejected' | 'wait_timeout' | 'run_timeout' | 'aborted';

/** What one queue reports; prebound to the queue, so each report is one metric update. */
export interface BoundQueueMetrics {
  /** Tasks waiting now. */
  depth(waiting: number): void;
  /** Tasks running now (a timed-out task counts until its function returns). */
  running(running: number): void;
  /** A task started after waiting `ms`. */
  waited(ms: number): void;
  /** A task's function returned or threw after running `ms`. */
  ran(ms: number): void;
  /** A task's promise settled this way (once per task). */
  outcome(outcome: QueueOutcome): void;
}

/**
 * Where queues report, without importing prom-client: `nines/metrics` implements it with
 * `queueMetrics(registry)`. Leave it out and a queue reads no clock for metrics.
 */
export interface QueueMetrics {
  /** Metrics for the queue `name`. */
  queue(name: string): BoundQueueMetrics;
}
