import { checkInteger } from '../policy/validate.js';

/** A result as the incident rules see it: when the check started and whether it failed. */
export interface Observation {
  /** Wall-clock ms the check started. */
  time: number;
  /** True for `unhealthy`; `degraded` counts as passing (design.md §3). */
  failed: boolean;
}

/** What one observation changed. */
export type IncidentEvent = { type: 'opened'; start: number } | { type: 'resolved'; start: number; end: number } | undefined;

/** The state of a tracker, to persist so an open incident survives a restart. */
export interface IncidentTrackerState {
  /** Start of the open incident, if one is open. */
  openSince: number | undefined;
  /** Consecutive failures and the time of the first of them (while no incident is open). */
  failures: number;
  failingSince: number | undefined;
  /** Consecutive passes and the time of the first of them (while an incident is open). */
  passes: number;
  passingSince: number | undefined;
}

/**
 * design.md §3: an incident opens after `failuresToOpen` consecutive unhealthy results and starts
 * at the first of them; it resolves after `successesToResolve` consecutive non-unhealthy results and
 * ends at the first of those. Raw observations are never rewritten: the start is simply in the past.
 */
export class IncidentTracker {
  readonly #failuresToOpen: number;
  readonly #successesToResolve: number;
  #s: IncidentTrackerState;

  constructor(options: { failuresToOpen: number; successesToResolve: number }, state?: IncidentTrackerState) {
    this.#failuresToOpen = checkInteger('failuresToOpen', options.failuresToOpen, 1);
    this.#successesToResolve = checkInteger('successesToResolve', options.successesToResolve, 1);
    this.#s = state ? { ...state } : { openSince: undefined, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };
  }

  /** Start of the open incident, or undefined. */
  get openSince(): number | undefined {
    return this.#s.openSince;
  }

  /** A copy of the state, for persistence. */
  get state(): IncidentTrackerState {
    return { ...this.#s };
  }

  /** Feeds one observation (in time order); returns the incident it opened or resolved, if any. */
  observe(o: Observation): IncidentEvent {
    const s = this.#s;
    if (s.openSince === undefined) {
      if (!o.failed) {
        s.failures = 0;
        s.failingSince = undefined;
        return undefined;
      }
      if (s.failures++ === 0) s.failingSince = o.time;
      if (s.failures < this.#failuresToOpen) return undefined;
      s.openSince = s.failingSince ?? o.time;
      s.failures = 0;
      s.failingSince = undefined;
      return { type: 'opened', start: s.openSince };
    }
    if (o.failed) {
      s.passes = 0;
      s.passingSince = undefined;
      return undefined;
    }
    if (s.passes++ === 0) s.passingSince = o.time;
    if (s.passes < this.#successesToResolve) return undefined;
    const event = { type: 'resolved' as const, start: s.openSince, end: s.passingSince ?? o.time };
    this.#s = { openSince: undefined, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };
    return event;
  }
}

/**
 * The unobserved span between two consecutive results of one component: a result vouches for the
 * component until the next one is due (`staleAfter` = interval + timeout); past that, time is
 * unknown, neither up nor down. Undefined when the results are close enough.
 */
export function gapBetween(previous: number, next: number, staleAfter: number): { from: number; to: number } | undefined {
  const from = previous + staleAfter;
  return next > from ? { from, to: next } : undefined;
}
