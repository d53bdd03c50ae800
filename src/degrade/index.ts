// Graceful degradation: feature flags, fallbacks, degradation levels, and the PostgreSQL flag store.
export * from './fallback/index.js';
export * from './flags/index.js';
export * from './levels/index.js';
export * from './stores/postgres/index.js';
