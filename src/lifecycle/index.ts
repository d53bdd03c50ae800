export { GracefulShutdown, type GracefulShutdownOptions, type HookOptions, type ShutdownReport } from './graceful-shutdown.js';
export type { HookResult, ShutdownHookFn } from './hooks.js';
export { jsonLogger, type ShutdownLogger } from './logger.js';
export type { LifecycleMetrics } from './metrics-sink.js';
export type { HttpServer, InFlightRequest } from './request-tracker.js';
