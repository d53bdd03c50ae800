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

/**
 * The owner of each component among `instances`: the instance of highest weight (ties, which a
 * 64-bit hash makes vanishingly rare, go to the lower name). Every instance that sees the same
 * live set computes the same owners, and a join or leave moves only the components the joining or
 * leaving instance wins or held: about 1/n of them.
 */
export class Rendezvous {
  // weights per instance, then component: they never change, and a heartbeat asks for all of them
  readonly #weights = new Map<string, Map<string, bigint>>();

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

  /** The components of `components` that `instance` owns among `instances`, in their order. */
  share(instance: string, instances: readonly string[], components: Iterable<string>): string[] {
    for (const cached of this.#weights.keys()) if (!instances.includes(cached)) this.#weights.delete(cached);
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
