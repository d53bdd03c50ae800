import type { CheckType, ComponentConfig, NinesConfig } from '../config/index.js';

/** Checks that look at the monitor's own machine: they fail for its disk or memory, not its network. */
const LOCAL_CHECKS: ReadonlySet<CheckType> = new Set(['disk', 'memory', 'eventLoop']);

/** Whether the monitor trusts its network, and if not, why and since when. */
export interface Connectivity {
  suspect: boolean;
  /** `canary`: a canary fails; `all-failing`: every network target fails and no canary answers. */
  reason: 'canary' | 'all-failing' | undefined;
  /** When it became suspect. */
  since: number | undefined;
}

interface Target {
  canary: boolean;
  network: boolean;
  /** Latest result unhealthy; undefined before the first. */
  failing: boolean | undefined;
}

/**
 * The connectivity guard: when a canary fails, or every network target fails at once with no
 * canary answering, the monitor's own network is the suspect, and a failure it sees then is not
 * evidence against its target (the monitor records it as unobserved time, not downtime). Kept by
 * counts, so each result costs O(1) whatever the number of components.
 */
export class ConnectivityGuard {
  readonly #targets = new Map<string, Target>();
  #config: NinesConfig['connectivity'];
  #canariesFailing = 0;
  #canariesAnswering = 0;
  #network = 0;
  #networkKnown = 0;
  #networkFailing = 0;
  #state: Connectivity = { suspect: false, reason: undefined, since: undefined };

  constructor(config: NinesConfig['connectivity']) {
    this.#config = config;
  }

  /** The verdict as of the latest result. */
  get state(): Connectivity {
    return this.#state;
  }

  /** Applies a reloaded config's settings. */
  configure(config: NinesConfig['connectivity']): void {
    this.#config = config;
  }

  /** Starts watching `component` (again, after a change: its results so far are forgotten). */
  add(component: Pick<ComponentConfig, 'name' | 'canary' | 'check'>): void {
    this.remove(component.name);
    const target: Target = { canary: component.canary, network: !LOCAL_CHECKS.has(component.check.type), failing: undefined };
    this.#targets.set(component.name, target);
    if (!target.canary && target.network) this.#network++;
  }

  /** Stops watching `name`. */
  remove(name: string): void {
    const t = this.#targets.get(name);
    if (t === undefined) return;
    this.#count(t, -1);
    if (!t.canary && t.network) this.#network--;
    this.#targets.delete(name);
  }

  /**
   * Takes `name`'s result at `time` and returns the verdict with it: a transition is returned as
   * `changed` so the monitor can announce it.
   */
  observe(name: string, failed: boolean, time: number): { state: Connectivity; changed: boolean } {
    const t = this.#targets.get(name);
    if (t !== undefined) {
      this.#count(t, -1);
      t.failing = failed;
      this.#count(t, 1);
    }
    const reason = this.#reason();
    const changed = (reason !== undefined) !== this.#state.suspect || (reason !== undefined && reason !== this.#state.reason);
    if (changed)
      this.#state = { suspect: reason !== undefined, reason, since: reason === undefined ? undefined : (this.#state.since ?? time) };
    return { state: this.#state, changed };
  }

  #reason(): Connectivity['reason'] {
    if (this.#canariesFailing > 0) return 'canary';
    const all =
      this.#config.allFailing &&
      this.#canariesAnswering === 0 &&
      this.#network >= this.#config.minTargets &&
      this.#networkKnown === this.#network &&
      this.#networkFailing === this.#network;
    return all ? 'all-failing' : undefined;
  }

  #count(t: Target, by: 1 | -1): void {
    if (t.failing === undefined) return;
    if (t.canary) {
      if (t.failing) this.#canariesFailing += by;
      else this.#canariesAnswering += by;
    } else if (t.network) {
      this.#networkKnown += by;
      if (t.failing) this.#networkFailing += by;
    }
  }
}
