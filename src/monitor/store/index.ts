export { LATENCY_BOUNDS } from './histogram.js';
export { type OpenStoreOptions, openStore } from './open.js';
export type * from './types.js';
