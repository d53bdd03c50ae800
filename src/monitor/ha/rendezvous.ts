import { createHash } from 'node:crypto';

/**
 * The weight of `instance` for `component` in rendezvous (highest-random-weight) hashing: the first
 * 8 bytes of SHA-256 over `instance NUL component`, big-endian, as an unsigned 64-bit integer. A
 * cryptographic hash because instance and component names differ in a character or two, and FNV's
 * high bits barely move on such inputs; the cost is about a microsecond, and weights are cached.
 */
export function rendezvousWeight(instance: string, component: string): bigint {
  return createHash('sha256').update(instance).update('\0').update(component).digest().readBigUInt64BE(0);
}

/** A live instance and the components its config lists. */
export interface Member {
  instance: string;
  /** Null: an instance that does not say (an older nines); it may be given any component. */
  components: readonly string[] | null;
}

/**
 * The owner of each component among `instances`: the instance of highest weight (ties, which a
 * 64-bit hash makes vanishingly rare, go to the lower name). Every instance that sees the same
 * live set computes the same owners, and a join or leave moves only the components the joining or
 * leaving instance wins or held: about 1/n of them.
 */
export class Rendezvous {
  // weights per instance, then component: they never change, and a heartbeat asks for all of them
  readonly #weights = new Map<string, Map<string, bigint>>();
  /** The latest assignment and the members it was computed for: a heartbeat with the same ones reuses it. */
  #assigned: { key: string; owners: Map<string, string> } | undefined;

  /** The owner of `component` among `instances` (undefined when there is none). */
  owner(instances: readonly string[], component: string): string | undefined {
    let best: string | undefined;
    let bestWeight = -1n;
    for (const instance of instances) {
      const w = this.#weight(instance, component);
      if (w > bestWeight || (w === bestWeight && best !== undefined && instance < best)) {
        best = instance;
        bestWeight = w;
      }
    }
    return best;
  }

  /**
   * Every component's owner among `members`, balanced: first each goes to its highest-weight
   * instance among those that list it, then, while an instance holds more than `hi` (10 % over the
   * average, or its ceiling), it hands over the component another instance below `hi` weighs
   * highest, and while one holds fewer than `lo` (10 % under, or the floor), it takes the one it
   * weighs highest from an instance above `lo`. Deterministic: every instance that reads the same
   * members computes the same owners. A join moves the newcomer's share plus the few the bounds
   * need. A member with `components: null` (a nines that does not say) may own anything.
   */
  assign(members: readonly Member[]): Map<string, string> {
    const key = JSON.stringify(members);
    if (this.#assigned !== undefined && this.#assigned.key === key) return this.#assigned.owners;
    const instances = [...new Set(members.map((m) => m.instance))].sort();
    this.#prune(instances);
    const lists = new Map(members.map((m) => [m.instance, m.components === null ? null : new Set(m.components)]));
    const universe = [...new Set(members.flatMap((m) => m.components ?? []))].sort();
    const eligible = new Map<string, string[]>();
    for (const c of universe)
      eligible.set(
        c,
        instances.filter((i) => lists.get(i)?.has(c) !== false),
      );
    const owners = new Map<string, string>();
    const load = new Map(instances.map((i) => [i, 0]));
    const give = (c: string, to: string) => {
      const from = owners.get(c);
      if (from !== undefined) load.set(from, (load.get(from) ?? 0) - 1);
      owners.set(c, to);
      load.set(to, (load.get(to) ?? 0) + 1);
    };
    for (const c of universe) {
      const top = this.owner(eligible.get(c) ?? [], c);
      if (top !== undefined) give(c, top);
    }
    const avg = universe.length / Math.max(1, instances.length);
    const hi = Math.max(Math.floor(avg * 1.1), Math.ceil(avg));
    const lo = Math.min(Math.ceil(avg * 0.9), Math.floor(avg));
    const loadOf = (i: string) => load.get(i) ?? 0;
    // shed: the most loaded above hi gives the move its receiver weighs highest
    const stuck = new Set<string>();
    for (;;) {
      const over = instances.filter((i) => loadOf(i) > hi && !stuck.has(i)).sort((x, y) => loadOf(y) - loadOf(x))[0];
      if (over === undefined) break;
      const move = this.#best(universe, (c) =>
        owners.get(c) === over ? (eligible.get(c) ?? []).filter((t) => t !== over && loadOf(t) < hi) : [],
      );
      if (move === undefined) stuck.add(over);
      else give(move.component, move.to);
    }
    // fill: the least loaded below lo takes what it weighs highest from an instance above lo
    stuck.clear();
    for (;;) {
      const under = instances.filter((i) => loadOf(i) < lo && !stuck.has(i)).sort((x, y) => loadOf(x) - loadOf(y))[0];
      if (under === undefined) break;
      const move = this.#best(universe, (c) => {
        const from = owners.get(c);
        return from !== undefined && from !== under && loadOf(from) > lo && (eligible.get(c) ?? []).includes(under) ? [under] : [];
      });
      if (move === undefined) stuck.add(under);
      else give(move.component, move.to);
    }
    this.#assigned = { key, owners };
    return owners;
  }

  /** The (component, receiver) pair of highest weight among `receivers(component)`; ties to the lower names. */
  #best(universe: readonly string[], receivers: (component: string) => readonly string[]): { component: string; to: string } | undefined {
    let best: { component: string; to: string; w: bigint } | undefined;
    for (const component of universe) {
      for (const to of receivers(component)) {
        const w = this.#weight(to, component);
        if (best === undefined || w > best.w) best = { component, to, w };
      }
    }
    return best;
  }

  #prune(instances: readonly string[]): void {
    for (const cached of this.#weights.keys()) if (!instances.includes(cached)) this.#weights.delete(cached);
  }

  /** The components of `components` that `instance` owns among `instances`, in their order. */
  share(instance: string, instances: readonly string[], components: Iterable<string>): string[] {
    this.#prune(instances);
    const out: string[] = [];
    for (const component of components) if (this.owner(instances, component) === instance) out.push(component);
    return out;
  }

  #weight(instance: string, component: string): bigint {
    let perInstance = this.#weights.get(instance);
    if (perInstance === undefined) {
      perInstance = new Map();
      this.#weights.set(instance, perInstance);
    }
    let w = perInstance.get(component);
    if (w === undefined) {
      w = rendezvousWeight(instance, component);
      perInstance.set(component, w);
    }
    return w;
  }
}
