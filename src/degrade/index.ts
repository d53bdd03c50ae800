// Graceful degradation: feature flags (more folders join at merge).
export * from './flags/index.js';
