/**
 * Which components this instance probes. On one node it owns every component; the highly available
 * monitor gives each component to one instance (a lease in PostgreSQL) and fills this in, without
 * the scheduler changing.
 */
export interface Ownership {
  /** True when this instance should probe `component` now; asked before every scheduled run, so keep it cheap. */
  owns(component: string): boolean;
  /** The fencing number under which `component`'s results are written now; undefined on one node (nothing to fence). */
  fence?(component: string): number | undefined;
  /** The name the fences are held by: with it, the store writes a result only while its fence is current. */
  readonly instance?: string;
}

/** One node: every component is ours. */
export const singleNode: Ownership = Object.freeze({ owns: () => true });
