export { LATENCY_BOUNDS } from './histogram.js';
export { type OpenStoreOptions, openStore, StoreError } from './open.js';
export type * from './types.js';
