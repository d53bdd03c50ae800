export { QueueClosedError, QueueFullError, QueueTimeoutError } from './errors.js';
export type { BoundQueueMetrics, QueueMetrics, QueueOutcome } from './metrics-sink.js';
export { QueueManager, type QueueOptions, type TaskOptions } from './queue.js';
export type { RateCapOptions } from './rate-cap.js';
export type { QueueTask, TaskContext } from './task.js';
