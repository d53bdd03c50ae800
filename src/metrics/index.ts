export { policyMetrics } from './policy-metrics.js';
