export { type Exposition, type ExpositionFormat, exposition, negotiateExposition } from './exposition.js';
export { healthMetrics } from './health-metrics.js';
export { lifecycleMetrics } from './lifecycle-metrics.js';
export { metric } from './metric.js';
export { METRICS } from './names.js';
export { policyMetrics } from './policy-metrics.js';
export { queueMetrics } from './queue-metrics.js';
export { createMetricsRegistry } from './registry.js';
