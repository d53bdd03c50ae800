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

/** What one location's probe found, as it votes in a quorum round. */
export interface Vote {
  failed: boolean;
  error?: string | undefined;
}

/** The outcome of one quorum round: what the locations saw of a component, this one's included. */
export interface LocationsVerdict {
  /** At least `k` locations saw it fail (or fewer answered, all failing, and `whenInsufficient` is `open`): it is down. */
  down: boolean;
  /** Locations whose probe failed, sorted. */
  failing: string[];
  /** Locations that answered in time, this one's included. */
  of: number;
  /** Fewer than `k` locations answered. */
  insufficient: boolean;
}

/** Confirms an incident's opening or resolution from other locations before it is applied (the HA quorum, ha/quorum.ts). */
export interface Confirmation {
  /** Asks the other locations to probe `component` now, this instance's finding being `own`; never rejects. */
  confirm(component: string, own: Vote, kind: 'open' | 'resolve'): Promise<LocationsVerdict>;
  /** ms between two rounds of one component while a verdict holds its change back (it is partial, or still down elsewhere). */
  readonly every: number;
}
