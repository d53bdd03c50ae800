import type { Pool } from 'undici';
import { type Balancer, powerOfTwoChoices, roundRobin, weightedRoundRobin } from './balancers.js';
import { type PriorityLoad, type PriorityLoadOptions, priorityLoad } from './priority.js';

/** How a tier picks one of its hosts: round robin, smooth weighted round robin, or power of two choices on least outstanding requests. */
export type BalancerKind = 'round-robin' | 'weighted-round-robin' | 'p2c';

/** One endpoint as the dispatcher tracks it. */
export interface Endpoint {
  /** `http://host:port`, the key of the endpoint. */
  readonly origin: string;
  /** Index of its tier. */
  readonly tier: number;
  /** The undici pool of its connections. */
  readonly pool: Pool;
  /** Weight given by configuration or discovery, > 0. */
  weight: number;
  /** Attempts in flight on it. */
  outstanding: number;
  /** Passing its active health check (true when checks are off). */
  checkUp: boolean;
  /** Terminating in discovery: keeps its requests, takes new ones only when no other host can. */
  draining: boolean;
  /** A request to it broke off and its health check to say why is on its way: no new requests meanwhile. */
  suspect: boolean;
}

interface Tier {
  all: Endpoint[];
  healthy: Endpoint[];
  balancer: Balancer<Endpoint>;
}

/**
 * Chooses the endpoint of each attempt: a tier by Envoy's priority load, then a host of that tier
 * by the balancer, over healthy hosts or, in panic, over all of them. Retries skip hosts already
 * tried and fall through to the other tiers.
 */
export class Router {
  readonly #tiers: Tier[];
  readonly #options: PriorityLoadOptions;
  readonly #weight: (e: Endpoint) => number;
  readonly #random: () => number;
  readonly #routable: (e: Endpoint) => boolean;
  #load: PriorityLoad;
  #dirty = true;
  /** Called after each recomputation that changed a tier's panic. */
  onPanic?: (tier: number, panic: boolean) => void;
  /** Called after each recomputation with the load per tier in percent. */
  onLoad?: (loads: readonly number[]) => void;

  /**
   * `routable` says whether a host may take new traffic (checks passing, not ejected, not
   * draining); `weight` is its current weight (slow start included), `random` in [0, 1).
   */
  constructor(
    tierCount: number,
    kind: BalancerKind,
    options: PriorityLoadOptions,
    routable: (e: Endpoint) => boolean,
    weight: (e: Endpoint) => number,
    random: () => number,
  ) {
    this.#options = options;
    this.#routable = routable;
    this.#weight = weight;
    this.#random = random;
    this.#tiers = Array.from({ length: tierCount }, () => ({ all: [], healthy: [], balancer: this.#balancer(kind) }));
    this.#load = priorityLoad(
      this.#tiers.map(() => ({ healthy: 0, total: 0 })),
      options,
    );
  }

  #balancer(kind: BalancerKind): Balancer<Endpoint> {
    if (kind === 'round-robin') return roundRobin();
    if (kind === 'weighted-round-robin') return weightedRoundRobin(this.#weight);
    // Envoy's least request with weights: in-flight over weight, so a slow-starting host takes less.
    return powerOfTwoChoices((e) => (e.outstanding + 1) / Math.max(1e-6, this.#weight(e)), this.#random);
  }

  /** Replaces the hosts of `tier`. */
  setEndpoints(tier: number, endpoints: readonly Endpoint[]): void {
    const t = this.#tiers[tier];
    if (t !== undefined) t.all = [...endpoints];
    this.#dirty = true;
  }

  /** Marks the health of some host as changed; the loads are recomputed at the next pick. */
  invalidate(): void {
    this.#dirty = true;
  }

  /** The current split of traffic over tiers (recomputed if anything changed). */
  load(): PriorityLoad {
    if (this.#dirty) this.#refresh();
    return this.#load;
  }

  /** The host for the next attempt, or `undefined` when none is left (no healthy upstream, or every host tried). */
  pick(tried?: ReadonlySet<Endpoint>): Endpoint | undefined {
    const load = this.load();
    if (load.noHealthyUpstream) return undefined;
    const first = this.#tierByLoad(load.loads);
    const t = this.#tiers[first] as Tier;
    if (tried === undefined || tried.size === 0) {
      return t.balancer.pick(load.panic[first] === true ? t.all : t.healthy) ?? this.#fallThrough(first, undefined);
    }
    // A retry prefers the hosts known healthy, even in panic, then falls through to later tiers.
    return this.#fallThrough(first, tried);
  }

  #fallThrough(first: number, tried: ReadonlySet<Endpoint> | undefined): Endpoint | undefined {
    const n = this.#tiers.length;
    const untried = (list: readonly Endpoint[]): Endpoint[] => (tried === undefined ? [...list] : list.filter((e) => !tried.has(e)));
    for (let k = 0; k < n; k++) {
      const t = this.#tiers[(first + k) % n] as Tier;
      const host = t.balancer.pick(untried(t.healthy));
      if (host !== undefined) return host;
    }
    // Nothing healthy left: a host that failed its checks may still answer (Envoy's panic, for the retry).
    for (let k = 0; k < n; k++) {
      const t = this.#tiers[(first + k) % n] as Tier;
      const host = t.balancer.pick(untried(t.all));
      if (host !== undefined) return host;
    }
    return undefined;
  }

  #tierByLoad(loads: readonly number[]): number {
    if (loads.length === 1) return 0;
    let r = this.#random() * 100;
    for (let i = 0; i < loads.length; i++) {
      r -= loads[i] ?? 0;
      if (r < 0) return i;
    }
    return Math.max(
      0,
      loads.findLastIndex((l) => l > 0),
    );
  }

  #refresh(): void {
    this.#dirty = false;
    for (const t of this.#tiers) t.healthy = t.all.filter(this.#routable);
    const before = this.#load.panic;
    this.#load = priorityLoad(
      this.#tiers.map((t) => ({ healthy: t.healthy.length, total: t.all.length })),
      this.#options,
    );
    this.onLoad?.(this.#load.loads);
    this.#load.panic.forEach((p, i) => {
      if (p !== (before[i] ?? false)) this.onPanic?.(i, p);
    });
  }
}
