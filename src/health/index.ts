export * from './checks/index.js';
export type { DegradationDocument, DegradationSource } from './documents.js';
export {
  type EndpointOptions,
  type EndpointResponse,
  Endpoints,
  type FastifyLike,
  type FastifyReplyLike,
  type HealthHandler,
  healthHandler,
  type MetricsSource,
  type ProbeOptions,
  type ProbeResponse,
  Probes,
} from './endpoints.js';
export { EventLoopLag } from './event-loop-lag.js';
export {
  HealthCheckRegistry,
  type HealthRegistryEvents,
  type HealthRegistryOptions,
  type HealthReport,
  type RegisterOptions,
} from './registry.js';
export { type IetfStatus, overallStatus, toIetfStatus } from './status.js';
export type { CheckContext, CheckOutcome, CheckResult, HealthCheck, HealthStatus } from './types.js';
