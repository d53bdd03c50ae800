import { type ExcludedSpans, type IncidentSpan, type Span, type WindowFigures, windowFigures } from './figures.js';
import type { Store } from './store/types.js';
import { type CheckTimes, storedTimeline } from './store-figures.js';

/** The longest window a `/metrics` gauge reads (`nines_availability_ratio{window="30d"}`); SLO windows may reach further. */
export const LONGEST_GAUGE_WINDOW = 30 * 86_400_000;

/** Past every time a check can have. */
const FOREVER = Number.MAX_SAFE_INTEGER;

/** What the store would answer for one component, from `from` on. */
interface Entry {
  /** Complete from here: an earlier window is not answered. */
  from: number;
  /** Overlapping [from, ∞), sorted by start; `end` undefined while open. */
  incidents: IncidentSpan[];
  /** Overlapping [min(from, first incident's start), ∞), sorted. */
  gaps: Span[];
}

type Event = { type: 'opened'; start: number } | { type: 'resolved'; start: number; end: number } | { type: 'gap'; span: Span };

/** Applies `e` to `entry`; applying an event the entry already holds changes nothing (a load may have read it). */
function apply(entry: Entry, e: Event): void {
  if (e.type === 'opened') {
    if (entry.incidents.some((i) => i.start === e.start)) return;
    entry.incidents.push({ start: e.start });
    if ((entry.incidents.at(-2)?.start ?? -Infinity) > e.start) entry.incidents.sort((a, b) => a.start - b.start);
  } else if (e.type === 'resolved') {
    const open = entry.incidents.findLast((i) => i.start === e.start && i.end === undefined);
    if (open) open.end = e.end;
  } else {
    if (entry.gaps.some((g) => g.from === e.span.from && g.to === e.span.to)) return;
    entry.gaps.push({ from: e.span.from, to: e.span.to });
    if ((entry.gaps.at(-2)?.from ?? -Infinity) > e.span.from) entry.gaps.sort((a, b) => a.from - b.from);
  }
}

/**
 * Each component's incidents and gaps over the longest window its figures need, kept in memory as
 * the monitor records them, so `/metrics` computes its gauges without reading the store. Figures
 * come from the same selection the store makes and the same {@link windowFigures}, so they equal
 * storedFigures' exactly. The store stays the source of truth: `load` reads it (at start, for
 * components a reload adds, and on a schedule to correct any drift), and a component is answered
 * only once a load of it has succeeded, never from a partial timeline.
 */
export class RunningFigures {
  readonly #entries = new Map<string, Entry>();
  /** While a load runs: the events recorded meanwhile for each component it still has to install. */
  #journal: Map<string, Event[]> | undefined;
  #loading: Promise<void> | undefined;

  /** True once `component`'s history has been loaded. */
  loaded(component: string): boolean {
    return this.#entries.has(component);
  }

  /** Records an incident of `component` that opened at `start`. */
  opened(component: string, start: number): void {
    this.#event(component, { type: 'opened', start });
  }

  /** Records the end of `component`'s incident that opened at `start`. */
  resolved(component: string, start: number, end: number): void {
    this.#event(component, { type: 'resolved', start, end });
  }

  /** Records an unobserved gap of `component`. */
  gap(component: string, span: Span): void {
    this.#event(component, { type: 'gap', span });
  }

  /** Forgets `component` (removed from the config); a load in progress does not bring it back. */
  drop(component: string): void {
    this.#entries.delete(component);
    this.#journal?.delete(component);
  }

  /**
   * Figures of `component` over `window` as of `now`, given its check times and staleness: those
   * storedFigures gives after a flush. Undefined before its first load, or for a window that
   * begins before what is held.
   */
  figures(
    component: string,
    times: CheckTimes,
    staleAfter: number,
    window: Span,
    now: number,
    excluded?: ExcludedSpans,
  ): WindowFigures | undefined {
    const entry = this.#entries.get(component);
    if (entry === undefined || window.from < entry.from) return undefined;
    // the store's selection (store-figures.ts storedTimeline): half-open overlap, gaps back to the first incident's start
    const to = Math.min(window.to, now);
    const incidents = entry.incidents.filter((i) => i.start < to && (i.end === undefined || i.end > window.from));
    const first = incidents[0]?.start;
    const gapsFrom = first !== undefined && first < window.from ? first : window.from;
    const gaps = entry.gaps.filter((g) => g.from < to && g.to > gapsFrom);
    const timeline = {
      firstCheckAt: times.firstCheckAt,
      gaps,
      incidents,
      lastCheckAt: times.lastCheckAt,
      staleAfter,
      excluded: excluded?.(gapsFrom, window.to),
    };
    return windowFigures(timeline, window, now);
  }

  /** Drops what no window starting at or after `from` can need. */
  prune(from: number): void {
    for (const entry of this.#entries.values()) {
      if (from <= entry.from) continue;
      entry.incidents = entry.incidents.filter((i) => i.end === undefined || i.end > from);
      const first = entry.incidents[0]?.start;
      const gapsFrom = first !== undefined && first < from ? first : from;
      entry.gaps = entry.gaps.filter((g) => g.to > gapsFrom);
      entry.from = from;
    }
  }

  /**
   * Reads the history of `components` from `from` on out of `store` and puts it in place of what
   * is held. `settle` must put every event recorded so far into the store (the monitor's flush);
   * events recorded while this runs are replayed over what it read. Stops at the first failed read,
   * keeping what was held for that component and the rest. One load at a time: a second waits.
   */
  async load(store: Store, components: readonly string[], from: number, settle: () => Promise<void>): Promise<void> {
    while (this.#loading !== undefined) await this.#loading.catch(() => undefined);
    const loading = this.#read(store, components, from, settle);
    this.#loading = loading;
    try {
      await loading;
    } finally {
      this.#loading = undefined;
    }
  }

  async #read(store: Store, components: readonly string[], from: number, settle: () => Promise<void>): Promise<void> {
    const journal = new Map(components.map((c) => [c, [] as Event[]]));
    this.#journal = journal;
    try {
      await settle();
      for (const component of components) {
        const stored = await storedTimeline(store, component, { from, to: FOREVER }, FOREVER);
        const events = journal.get(component);
        if (events === undefined) continue; // dropped meanwhile
        const incidents = stored.incidents.map((i) => ({ start: i.start, end: i.end ?? undefined }));
        const entry: Entry = { from, incidents, gaps: stored.gaps };
        for (const e of events) apply(entry, e);
        journal.delete(component);
        this.#entries.set(component, entry);
      }
    } finally {
      this.#journal = undefined;
    }
  }

  #event(component: string, e: Event): void {
    const entry = this.#entries.get(component);
    if (entry !== undefined) apply(entry, e);
    this.#journal?.get(component)?.push(e);
  }
}
