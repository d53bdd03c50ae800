export * from './checks/index.js';
export { EventLoopLag } from './event-loop-lag.js';
export {
  type FastifyLike,
  type FastifyReplyLike,
  type HealthHandler,
  healthHandler,
  type MetricsSource,
  type ProbeOptions,
  type ProbeResponse,
  Probes,
} from './probes.js';
export {
  HealthCheckRegistry,
  type HealthRegistryEvents,
  type HealthRegistryOptions,
  type HealthReport,
  type RegisterOptions,
} from './registry.js';
export { type IetfStatus, overallStatus, toIetfStatus } from './status.js';
export type { CheckContext, CheckOutcome, CheckResult, HealthCheck, HealthStatus } from './types.js';
