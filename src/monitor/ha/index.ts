/** The highly available monitor: several instances share the components through leases in PostgreSQL. */
export { type LeaseEvents, type LeaseGained, type LeaseLost, LeaseManager, type LeaseManagerOptions } from './leases.js';
export { Rendezvous, rendezvousWeight } from './rendezvous.js';
export { fenceGuard, haTables, type LeaseClient, type LeasePool, type LeaseResult, type LeaseTables } from './tables.js';
