/**
 * Which components this instance probes. On one node it owns every component; the highly available
 * monitor gives each component to one instance (a lease in PostgreSQL) and fills this in, without
 * the scheduler changing.
 */
export interface Ownership {
  /** True when this instance should probe `component` now; asked before every scheduled run, so keep it cheap. */
  owns(component: string): boolean;
}

/** One node: every component is ours. */
export const singleNode: Ownership = Object.freeze({ owns: () => true });
