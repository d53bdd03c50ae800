/**
 * Availability figures, time-weighted, by the definitions of design.md §3. They are computed from
 * a component's incidents and its unobserved gaps alone, never by counting samples, so a changed
 * interval or a stopped monitor cannot bend them.
 */

/** A half-open time span [from, to), wall-clock ms. */
export interface Span {
  from: number;
  to: number;
}

/** An incident: `end` is undefined while it is open (it then counts until now). */
export interface IncidentSpan {
  start: number;
  end?: number | undefined;
}

/** The maintenance spans a component's figures leave out over [from, to): sorted, non-overlapping. */
export type ExcludedSpans = (from: number, to: number) => Span[];

/** Everything the figures need to know about one component. */
export interface Timeline {
  /** Start of the first check ever recorded; before it nothing is known. */
  firstCheckAt: number | undefined;
  /** Spans with no result (monitor stopped, check stalled), sorted and non-overlapping. */
  gaps: readonly Span[];
  /** Incidents sorted by start, non-overlapping. */
  incidents: readonly IncidentSpan[];
  /**
   * Start of the latest check and how long a result vouches for the component: past
   * `lastCheckAt + staleAfter` time is unobserved until the next result (the gap still open now).
   */
  lastCheckAt?: number | undefined;
  staleAfter?: number | undefined;
  /** Maintenance left out of availability: counted like gaps, neither up nor down. Sorted, non-overlapping. */
  excluded?: readonly Span[] | undefined;
}

/** Figures of one component over one window. */
export interface WindowFigures {
  /** The window, its end clipped to now. */
  from: number;
  to: number;
  /** Time with a result: up + down. */
  observedMs: number;
  upMs: number;
  downMs: number;
  /** Time before the first check, in gaps or in excluded maintenance: shown, never counted as up or down. */
  unobservedMs: number;
  /** The part of the window in maintenance left out of availability (some of it may be a gap too). */
  maintenanceMs: number;
  /** up / observed; null when nothing was observed. */
  availability: number | null;
  /** Incidents that started in the window. */
  incidentsStarted: number;
  /** Incidents that ended in the window. */
  incidentsResolved: number;
  /** Mean downtime (gaps excluded) of the incidents resolved in the window; null when none. */
  mttrMs: number | null;
  /** Uptime in the window / incidents started in it; null when none started. */
  mtbfMs: number | null;
}

/** Length of the overlap of [a, b) and [c, d). */
function overlap(a: number, b: number, c: number, d: number): number {
  return Math.max(0, Math.min(b, d) - Math.max(a, c));
}

/** Total length of `gaps` inside [from, to). Gaps are sorted, so this stops at the first past `to`. */
export function gapTime(gaps: readonly Span[], from: number, to: number): number {
  let total = 0;
  for (const g of gaps) {
    if (g.from >= to) break;
    total += overlap(g.from, g.to, from, to);
  }
  return total;
}

/** Figures of `timeline` over `window` as of `now`. */
export function windowFigures(input: Timeline, window: Span, now: number): WindowFigures {
  const timeline = withExcluded(withOpenGap(input, now));
  const from = window.from;
  const to = Math.max(from, Math.min(window.to, now));
  const maintenanceMs = input.excluded === undefined ? 0 : gapTime(input.excluded, from, to);
  const known = timeline.firstCheckAt === undefined ? to : Math.min(to, Math.max(from, timeline.firstCheckAt));
  const observedMs = to - known - gapTime(timeline.gaps, known, to);
  let downMs = 0;
  let started = 0;
  let resolved = 0;
  let repairTotal = 0;
  for (const inc of timeline.incidents) {
    const end = inc.end ?? now;
    const a = Math.max(inc.start, known);
    const b = Math.min(end, to);
    if (b > a) downMs += b - a - gapTime(timeline.gaps, a, b);
    if (inc.start >= from && inc.start < to) started++;
    if (inc.end !== undefined && inc.end >= from && inc.end < to) {
      resolved++;
      repairTotal += inc.end - inc.start - gapTime(timeline.gaps, inc.start, inc.end);
    }
  }
  const upMs = observedMs - downMs;
  return {
    from,
    to,
    observedMs,
    upMs,
    downMs,
    unobservedMs: to - from - observedMs,
    maintenanceMs,
    availability: observedMs > 0 ? upMs / observedMs : null,
    incidentsStarted: started,
    incidentsResolved: resolved,
    mttrMs: resolved > 0 ? repairTotal / resolved : null,
    mtbfMs: started > 0 ? upMs / started : null,
  };
}

/** Adds the gap still open at `now` (no result for longer than `staleAfter`) to the recorded gaps. */
function withOpenGap(t: Timeline, now: number): Timeline {
  if (t.lastCheckAt === undefined || t.staleAfter === undefined) return t;
  const from = t.lastCheckAt + t.staleAfter;
  if (now <= from) return t;
  return { ...t, gaps: [...t.gaps, { from, to: now }] };
}

/** Folds the excluded maintenance into the gaps: one sorted, non-overlapping list the figures subtract. */
function withExcluded(t: Timeline): Timeline {
  if (t.excluded === undefined || t.excluded.length === 0) return t;
  return { ...t, gaps: unionSpans([...t.gaps, ...t.excluded]) };
}

/** Sorted, non-overlapping union of spans. */
export function unionSpans(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const s of sorted) {
    if (s.to <= s.from) continue;
    const last = out.at(-1);
    if (last !== undefined && s.from <= last.to) last.to = Math.max(last.to, s.to);
    else out.push({ from: s.from, to: s.to });
  }
  return out;
}

/** Error budget of an SLO with `objective` % over a window of `windowMs`, given the downtime in it. */
export function errorBudget(objective: number, windowMs: number, downMs: number): { budgetMs: number; remaining: number } {
  const budgetMs = (1 - objective / 100) * windowMs;
  return { budgetMs, remaining: budgetMs > 0 ? 1 - downMs / budgetMs : downMs > 0 ? Number.NEGATIVE_INFINITY : 1 };
}

/** Burn rate over a short window: its downtime fraction (of observed time) over the allowed fraction. Null when nothing was observed. */
export function burnRate(objective: number, figures: Pick<WindowFigures, 'downMs' | 'observedMs'>): number | null {
  if (figures.observedMs <= 0) return null;
  return figures.downMs / figures.observedMs / (1 - objective / 100);
}
