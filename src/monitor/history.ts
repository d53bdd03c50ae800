import type { NinesConfig, SloConfig } from '../config/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { CheckCount, CheckCounts, CheckCountWindow } from './check-counts.js';
import type { ExcludedSpans, Span, WindowFigures } from './figures.js';
import { MaintenanceBook, storedWindows } from './maintenance.js';
import type { RunningFigures } from './running-figures.js';
import type { IncidentNotes, IncidentRecord, Page, ProbeCursor, ProbeRecord, ProbeStats, Store } from './store/types.js';
import {
  type CheckTimes,
  type DayFigures,
  dailyFigures,
  type SloFigures,
  sloFigures,
  sloFiguresOf,
  sloWindows,
  storedFigures,
} from './store-figures.js';

export type { Span, WindowFigures } from './figures.js';
export type {
  IncidentNotes,
  IncidentRecord,
  IncidentUpdateRecord,
  Page,
  ProbeCursor,
  ProbeRecord,
  ProbeStats,
  UpdateStatus,
  UpdateVisibility,
} from './store/types.js';
export type { DayFigures, SloFigures } from './store-figures.js';

/** What history needs of one component: how long a probe may take before time counts as unobserved, and its probe times. */
export interface HistorySubject {
  /** interval + timeout: a longer silence is a gap. */
  staleAfter: number;
  /** First and latest probe times (the monitor's memory, or the stored state). */
  times: CheckTimes;
  /** Its maintenance left out of availability; default none. */
  excluded?: ExcludedSpans;
}

/** Options of {@link History}. */
export interface HistoryOptions {
  store: Store;
  /** Source of "now" for the figures. Default `systemClock`. */
  clock?: Clock;
  /** The component `name`; undefined for one not configured (every read then answers undefined). */
  subject: (name: string) => HistorySubject | undefined;
  /** Makes everything recorded so far readable (the monitor's flush), so every reader agrees. Default none. */
  flush?: () => Promise<void>;
  /** The same figures held in memory, for `/metrics`; without it the running reads answer undefined. */
  running?: {
    figures: RunningFigures;
    /** Checks and failures over the failure-rate windows. */
    checks?: CheckCounts;
    /** Loads the history of components not in memory yet (the store was down at start); never rejects. */
    loadMissing: () => Promise<void>;
  };
}

/** Query of {@link History.incidents}. */
export interface IncidentQuery {
  component?: string;
  since?: number;
  limit: number;
  before?: number;
}

const settled = () => Promise.resolve();

/**
 * The one read path into the monitor's history: figures (availability, MTBF, MTTR, error budget,
 * burn rates), daily bars, latency series, incidents and probe records. The API, `/metrics`,
 * `nines report` and the status page all read through it, so they show the same number for the
 * same window and instant (design.md §3).
 */
export class History {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #subject: HistoryOptions['subject'];
  readonly #flush: () => Promise<void>;
  readonly #running: HistoryOptions['running'];

  constructor(options: HistoryOptions) {
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#subject = options.subject;
    this.#flush = options.flush ?? settled;
    this.#running = options.running;
  }

  /**
   * History straight from a store, with no monitor running (`nines report`): probe times come from
   * the stored component states, and "now" is `now`.
   */
  static async fromStore(store: Store, config: NinesConfig, now: number): Promise<History> {
    const states = new Map((await store.states()).map((s) => [s.component, s]));
    const components = new Map(config.components.map((c) => [c.name, c]));
    const maintenance = new MaintenanceBook(config.maintenance);
    maintenance.setStored(await storedWindows(store));
    return new History({
      store,
      clock: { now: () => now, setTimeout: systemClock.setTimeout },
      subject: (name) => {
        const c = components.get(name);
        if (c === undefined) return undefined;
        const state = states.get(name);
        return {
          staleAfter: c.interval + c.timeout,
          times: { firstCheckAt: state?.firstCheckAt, lastCheckAt: state?.lastCheckAt },
          excluded: (from, to) => maintenance.excluded(c, from, to),
        };
      },
    });
  }

  /** Figures of `component` over `window` as of now, from the store (everything recorded is written first). */
  async figures(component: string, window: Span): Promise<WindowFigures | undefined> {
    const s = this.#subject(component);
    if (s === undefined) return undefined;
    await this.#flush();
    return storedFigures(this.#store, component, s.staleAfter, s.times, window, this.#clock.now(), s.excluded);
  }

  /** Figures of each of the last `days` UTC days of `component`, today (partial) last. */
  async daily(component: string, days: number): Promise<DayFigures[] | undefined> {
    const s = this.#subject(component);
    if (s === undefined) return undefined;
    await this.#flush();
    return dailyFigures(this.#store, component, s.staleAfter, s.times, days, this.#clock.now(), s.excluded);
  }

  /** Budget and burn rates of `slo` with its windows ending at `at` (default now); the API's `?at=`. */
  slo(slo: SloConfig, at = this.#clock.now()): Promise<SloFigures | undefined> {
    return sloFigures(slo, at, (window) => this.figures(slo.component, window));
  }

  /**
   * What figures() gives, from memory: cheap enough for every `/metrics` scrape. Undefined for an
   * unknown component, before its history could be loaded, and for a window reaching further back
   * than the longest gauge or SLO window.
   */
  runningFigures(component: string, window: Span, now = this.#clock.now()): WindowFigures | undefined {
    const s = this.#subject(component);
    if (s === undefined || this.#running === undefined) return undefined;
    return this.#running.figures.figures(component, s.times, s.staleAfter, window, now, s.excluded);
  }

  /** What slo() gives at `now`, from memory (see runningFigures). */
  runningSlo(slo: SloConfig, now = this.#clock.now()): SloFigures | undefined {
    return sloFiguresOf(
      slo,
      sloWindows(slo, now).map((window) => this.runningFigures(slo.component, window, now)),
    );
  }

  /** Checks of `component` and how many failed over the last `window` at `now`, from memory; undefined while that cannot be told (check-counts.ts). */
  runningChecks(component: string, window: CheckCountWindow, now = this.#clock.now()): CheckCount | undefined {
    if (this.#subject(component) === undefined) return undefined;
    return this.#running?.checks?.count(component, window, now);
  }

  /** Loads the in-memory history of components not loaded yet (the store was down); a no-op once all are; never rejects. */
  loadRunning(): Promise<void> {
    return this.#running?.loadMissing() ?? settled();
  }

  /** Stored probes of `component`, newest first; `before` is a time or a previous page's `next`. */
  async probes(component: string, page: { limit: number; before?: number | ProbeCursor }): Promise<Page<ProbeRecord, ProbeCursor>> {
    await this.#flush();
    return this.#store.checks(component, page);
  }

  /** Probe counts and latency percentiles of `component` over [from, to). */
  probeStats(component: string, from: number, to: number): Promise<ProbeStats> {
    return this.#store.checkStats(component, from, to);
  }

  /** probeStats of each `step` ms of [from, to), oldest first: the latency chart. */
  probeSeries(component: string, from: number, to: number, step: number): Promise<ProbeStats[]> {
    return this.#store.checkSeries(component, from, to, step);
  }

  /** Incidents newest first, optionally of one component and started at or after `since`. */
  async incidents(query: IncidentQuery): Promise<Page<IncidentRecord>> {
    await this.#flush();
    return this.#store.incidents(query);
  }

  /** The incident `id` (after a flush), or undefined. */
  async incident(id: number): Promise<IncidentRecord | undefined> {
    await this.#flush();
    return this.#store.incident(id);
  }

  /** What people added to each of the incidents `ids` (acknowledgement, postmortem, updates newest first); internal updates only when `internal`. */
  incidentNotes(ids: readonly number[], options: { internal: boolean }): Promise<Map<number, IncidentNotes>> {
    return ids.length === 0 ? Promise.resolve(new Map()) : this.#store.incidentNotes(ids, options);
  }

  /** When `component` was first probed, as stored (after a flush); undefined before its first probe. */
  async firstProbeAt(component: string): Promise<number | undefined> {
    await this.#flush();
    return (await this.#store.states()).find((s) => s.component === component)?.firstCheckAt;
  }
}
