import { MAX_WINDOW, type OpenRule, type ResolveRule } from '../config/confirm.js';
import { InvalidOptionError } from '../core/errors.js';
import { checkInteger, checkNumber } from '../core/validate.js';

/** A result as the incident rules see it: when the check started and whether it failed. */
export interface IncidentObservation {
  /** Wall-clock ms the check started. */
  time: number;
  /** True for `unhealthy`; `degraded` counts as passing (design.md §3). */
  failed: boolean;
}

/** What one observation changed. */
export type IncidentEvent = { type: 'opened'; start: number } | { type: 'resolved'; start: number; end: number } | undefined;

/**
 * With `confirm`: an opening or a resolution the rules reached, held until other locations confirm
 * it (the HA quorum). `at` is the incident's start, or the end a resolution would give it.
 */
export interface PendingChange {
  type: 'open' | 'resolve';
  at: number;
}

/** One result remembered for `"N of M"`: when the check started, and 1 when it failed. */
export type RecentResult = [time: number, failed: 0 | 1];

/** The state of a tracker, to persist so an open or forming incident survives a restart. */
export interface IncidentTrackerState {
  /** Start of the open incident, if one is open. */
  openSince: number | undefined;
  /** Consecutive failures and the time of the first of them (while no incident is open). */
  failures: number;
  failingSince: number | undefined;
  /** Consecutive passes and the time of the first of them (while an incident is open). */
  passes: number;
  passingSince: number | undefined;
  /** `"N of M"` only: the latest results since the last incident opened, oldest first, at most M. Absent = none. */
  recent?: RecentResult[];
}

const idle = (): IncidentTrackerState => ({
  openSince: undefined,
  failures: 0,
  failingSince: undefined,
  passes: 0,
  passingSince: undefined,
});

type WindowRule = Extract<OpenRule, { of: number }>;

/**
 * design.md §3: an incident opens when the failures meet `failuresToOpen` and starts at the first
 * failure of the episode that met it; it resolves when the passes meet `successesToResolve` and ends
 * at the first of those. A count is consecutive results; `"for 2m"` is a streak whose first and
 * latest check started at least that far apart; `"N of M"` is N failures among the last M results
 * (docs/monitor.md, "The figures"). Raw observations are never rewritten: the start is simply in the past.
 */
export class IncidentTracker {
  readonly #open: OpenRule;
  readonly #resolve: ResolveRule;
  readonly #confirm: boolean;
  #s: IncidentTrackerState;
  #recent: RecentResult[];
  #pending: PendingChange | undefined;

  /** With `confirm`, an opening or a resolution the rules reach waits in {@link pending} until {@link confirm} applies it. */
  constructor(options: { failuresToOpen: OpenRule; successesToResolve: ResolveRule; confirm?: boolean }, state?: IncidentTrackerState) {
    this.#open = checkRule('failuresToOpen', options.failuresToOpen, true);
    this.#resolve = checkRule('successesToResolve', options.successesToResolve, false) as ResolveRule;
    this.#confirm = options.confirm === true;
    const { recent = [], ...rest } = state ?? idle();
    this.#s = rest;
    this.#recent = [];
    // After a rule change the other form's progress is dropped, and a window keeps what the current one reaches.
    if (isWindow(this.#open)) {
      this.#recent = recent.slice(-this.#open.of);
      Object.assign(this.#s, { failures: 0, failingSince: undefined });
    }
  }

  /** Start of the open incident, or undefined. */
  get openSince(): number | undefined {
    return this.#s.openSince;
  }

  /** A copy of the state, for persistence. */
  get state(): IncidentTrackerState {
    return this.#recent.length === 0 ? { ...this.#s } : { ...this.#s, recent: [...this.#recent] };
  }

  /** With `confirm`: the change the latest observation reached and that waits for confirmation; undefined once it no longer holds. */
  get pending(): PendingChange | undefined {
    return this.#pending;
  }

  /**
   * Feeds one observation (in time order); returns the incident it opened or resolved, if any. With
   * `confirm` it opens and resolves nothing itself: the change the rules reach is left in {@link pending}.
   */
  observe(o: IncidentObservation): IncidentEvent {
    const s = this.#s;
    this.#pending = undefined;
    if (s.openSince === undefined) {
      const start = isWindow(this.#open) ? this.#window(o, this.#open) : this.#failing(o, this.#open);
      if (start === undefined) return undefined;
      if (this.#confirm) {
        this.#pending = { type: 'open', at: start };
        return undefined;
      }
      return this.#opened(start);
    }
    if (o.failed) {
      s.passes = 0;
      s.passingSince = undefined;
      return undefined;
    }
    if (s.passes++ === 0) s.passingSince = o.time;
    const since = s.passingSince ?? o.time;
    if (!streakMeets(this.#resolve, s.passes, since, o.time)) return undefined;
    if (this.#confirm) {
      this.#pending = { type: 'resolve', at: since };
      return undefined;
    }
    return this.#resolved(since);
  }

  /**
   * Applies the pending change of `type` once confirmed, from the pending `at` (the streak's start
   * may have moved during the confirmation: an "N of M" window slides). Undefined when none is pending.
   */
  confirm(type: PendingChange['type']): IncidentEvent {
    const p = this.#pending;
    if (p === undefined || p.type !== type) return undefined;
    this.#pending = undefined;
    return p.type === 'open' ? this.#opened(p.at) : this.#resolved(p.at);
  }

  #opened(start: number): IncidentEvent {
    this.#s = { ...idle(), openSince: start };
    this.#recent = [];
    return { type: 'opened', start };
  }

  #resolved(end: number): IncidentEvent {
    const event = { type: 'resolved' as const, start: this.#s.openSince ?? end, end };
    this.#s = idle();
    return event;
  }

  /** A count or `"for"`: the start of the failing streak once it meets the rule. */
  #failing(o: IncidentObservation, rule: Exclude<OpenRule, WindowRule>): number | undefined {
    const s = this.#s;
    if (!o.failed) {
      s.failures = 0;
      s.failingSince = undefined;
      return undefined;
    }
    if (s.failures++ === 0) s.failingSince = o.time;
    const since = s.failingSince ?? o.time;
    return streakMeets(rule, s.failures, since, o.time) ? since : undefined;
  }

  /** `"N of M"`: the start of the episode once N of the last M results failed. */
  #window(o: IncidentObservation, rule: WindowRule): number | undefined {
    this.#recent.push([o.time, o.failed ? 1 : 0]);
    if (this.#recent.length > rule.of) this.#recent.shift();
    let failures = 0;
    for (const r of this.#recent) failures += r[1];
    return failures >= rule.failures ? episodeStart(this.#recent, this.#resolve) : undefined;
  }
}

/** Whether a streak of `count` results, the first started at `since` and the latest at `latest`, meets a count or `"for"` rule. */
function streakMeets(rule: number | { forMs: number }, count: number, since: number, latest: number): boolean {
  return typeof rule === 'number' ? count >= rule : latest - since >= rule.forMs;
}

/**
 * The first failure of the window not followed by a recovery (passes that would have resolved an
 * open incident), so an incident never spans a stretch its own resolve rule calls up.
 */
function episodeStart(recent: readonly RecentResult[], resolve: ResolveRule): number | undefined {
  let start: number | undefined;
  let passes = 0;
  let latestPass = 0;
  for (let i = recent.length - 1; i >= 0; i--) {
    const [time, failed] = recent[i] as RecentResult;
    if (failed === 1) {
      start = time;
      passes = 0;
      continue;
    }
    if (passes++ === 0) latestPass = time;
    if (start !== undefined && streakMeets(resolve, passes, time, latestPass)) break;
  }
  return start;
}

function isWindow(rule: OpenRule): rule is WindowRule {
  return typeof rule === 'object' && 'of' in rule;
}

/** Throws a TypeError naming `name` unless `rule` is a valid count, `"for"` or (when allowed) `"N of M"` rule. */
function checkRule(name: string, rule: OpenRule, allowWindow: boolean): OpenRule {
  if (typeof rule === 'number') return checkInteger(name, rule, 1);
  if (typeof rule !== 'object' || rule === null) throw new InvalidOptionError(`${name} must be a count, { forMs } or { failures, of }`);
  if ('forMs' in rule) {
    checkNumber(`${name}.forMs`, rule.forMs, 1, Number.MAX_SAFE_INTEGER);
    return rule;
  }
  if (!allowWindow) throw new InvalidOptionError(`${name} must be a count or { forMs }`);
  checkInteger(`${name}.failures`, rule.failures, 1, MAX_WINDOW);
  checkInteger(`${name}.of`, rule.of, rule.failures, MAX_WINDOW);
  return rule;
}

/** Reads `recent` back from stored JSON, keeping only `[time, 0 | 1]` pairs; undefined when there are none. */
export function readRecent(value: unknown): RecentResult[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const recent = value.filter(
    (r: unknown): r is RecentResult => Array.isArray(r) && r.length === 2 && Number.isFinite(r[0]) && (r[1] === 0 || r[1] === 1),
  );
  return recent.length > 0 ? recent : undefined;
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
