// The library entry: re-exports the library modules. The monitor, server and CLI are not here.
// Built-in checks have short names (http, tcp, redis…), so here they sit under `checks`;
// `nines/health` exports them flat.

export * from './degrade/index.js';
export * as checks from './health/checks/index.js';
export {
  type EndpointOptions,
  EventLoopLag,
  type HealthCheck,
  HealthCheckRegistry,
  type HealthHandler,
  type HealthReport,
  type HealthStatus,
  healthHandler,
  type ProbeOptions,
  type RegisterOptions,
} from './health/index.js';
export * from './lifecycle/index.js';
export * from './policy/index.js';
export * from './ratelimit/index.js';
