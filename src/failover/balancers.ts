/** Picks one host of a list for each request. */
export interface Balancer<T> {
  /** One of `hosts`, or `undefined` when the list is empty. */
  pick(hosts: readonly T[]): T | undefined;
}

/** Round robin: each host in turn, in list order; a changed list continues from the same position. */
export function roundRobin<T>(): Balancer<T> {
  let next = 0;
  return {
    pick(hosts) {
      if (hosts.length === 0) return undefined;
      const host = hosts[next % hosts.length];
      next = (next + 1) % hosts.length;
      return host;
    },
  };
}

/**
 * Smooth weighted round robin, nginx's: each pick adds every host's weight to its running score,
 * takes the highest score and subtracts the total weight from it, so a heavy host's turns are
 * spread out (weights 5, 1, 1 give a a b a c a a, never five a's in a row). `weight` may change
 * between picks (slow start); a weight of 0 or less is never picked.
 */
export function weightedRoundRobin<T>(weight: (host: T) => number): Balancer<T> {
  let scores = new Map<T, number>();
  return {
    pick(hosts) {
      const next = new Map<T, number>(); // forgets hosts that left the list
      let total = 0;
      let best: T | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const host of hosts) {
        const w = weight(host);
        if (!(w > 0)) continue;
        const score = (scores.get(host) ?? 0) + w;
        next.set(host, score);
        total += w;
        if (score > bestScore) {
          best = host;
          bestScore = score;
        }
      }
      if (best !== undefined) next.set(best, bestScore - total);
      scores = next;
      return best;
    },
  };
}

/**
 * Power of two choices on least outstanding requests: two distinct hosts at random, the one with
 * fewer requests in flight (the first drawn on a tie). Never picks the busier of its two, and
 * avoids the herd that always-least-loaded sends to one fresh host.
 */
export function powerOfTwoChoices<T>(outstanding: (host: T) => number, random: () => number = Math.random): Balancer<T> {
  return {
    pick(hosts) {
      if (hosts.length <= 1) return hosts[0];
      const i = Math.floor(random() * hosts.length);
      let j = Math.floor(random() * (hosts.length - 1));
      if (j >= i) j++; // distinct from i, uniform over the others
      const a = hosts[i] as T;
      const b = hosts[j] as T;
      return outstanding(b) < outstanding(a) ? b : a;
    },
  };
}
