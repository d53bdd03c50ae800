export type { AlgorithmKind, RateAlgorithm } from './algorithms/algorithm.js';
export { type AlgorithmOptions, createAlgorithm } from './algorithms/index.js';
export { SLIDING_LOG_MAX_LIMIT } from './algorithms/sliding-log.js';
export { type Decision, RateLimitedError } from './decision.js';
export {
  type ClientKeyOptions,
  clientKeyer,
  type TrustProxy,
} from './http/client-key.js';
export type { FastifyGateHook, FastifyGatePlugin, FastifyHooksLike, FastifyReplyLike, FastifyRequestLike } from './http/fastify-like.js';
export {
  type QuotaPolicy,
  type QuotaState,
  rateLimitHeader,
  rateLimitPolicyHeader,
  retryAfterSeconds,
  tooManyRequestsProblem,
} from './http/headers.js';
export {
  type RateLimitHandler,
  type RateLimitHandlerOptions,
  rateLimitHandler,
} from './http/middleware.js';
export { RateLimiter, type RateLimiterOptions, rateLimiter } from './limiter.js';
export type { LimiterMetrics, RateLimitMetrics } from './metrics-sink.js';
export * from './queue/index.js';
export * from './shed/index.js';
export type { Answer, Deleted, RateLimitStore, RateLimitStoreFactory, StoreSpec } from './store.js';
export { MemoryStore, type MemoryStoreOptions, memoryStore } from './stores/memory/memory-store.js';
export * from './stores/redis/index.js';
