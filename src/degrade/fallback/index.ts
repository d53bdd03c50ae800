export type { FallbackAnswer, FallbackSource } from './answer.js';
export type { CacheEntry, CacheStore, CacheStoreFactory, CacheStoreSpec, MaybePromise } from './cache-store.js';
export { CachedFallback, type CachedFallbackOptions, cachedFallback, KeyedCachedFallback } from './cached-fallback.js';
export { FallbackFailedError, PartialFailureError } from './errors.js';
export type { BoundFallbackMetrics, FallbackMetrics } from './metrics-sink.js';
export {
  type PartFailure,
  PartialFailureHandler,
  type PartialFailureOptions,
  type PartialReport,
  type Parts,
  type PartValues,
} from './partial-failure.js';
export { type AlternateFn, ServiceFallback, type ServiceFallbackOptions, serviceFallback } from './service-fallback.js';
export { StaticFallback, staticFallback } from './static-fallback.js';
export { MemoryCacheStore, type MemoryCacheStoreOptions, memoryCacheStore } from './stores/memory/memory-cache-store.js';
export * from './stores/redis/index.js';
export { SubstituteFallback, type SubstituteOptions } from './substitute.js';
