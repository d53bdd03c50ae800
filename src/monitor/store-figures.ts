import { BURN_WINDOWS, type BurnWindow } from '../config/burn-alerts.js';
import type { SloConfig } from '../config/index.js';
import { burnRate, type ExcludedSpans, errorBudget, type Span, type Timeline, type WindowFigures, windowFigures } from './figures.js';
import type { IncidentRecord, Store } from './store/types.js';

/** Where a component's first and latest check times come from: the monitor's memory or the stored state. */
export interface CheckTimes {
  firstCheckAt: number | undefined;
  lastCheckAt: number | undefined;
}

const DAY = 86_400_000;

export { BURN_WINDOWS, type BurnWindow } from '../config/burn-alerts.js';

/** SLO figures over its window, with burn rates over each of {@link BURN_WINDOWS}. */
export interface SloFigures {
  name: string;
  component: string;
  objective: number;
  windowMs: number;
  figures: WindowFigures;
  budgetMs: number;
  /** 1 − downtime / budget; negative once overspent. */
  budgetRemaining: number;
  /** Burn rate over each of {@link BURN_WINDOWS}; null where nothing was observed. */
  burnRates: Record<BurnWindow, number | null>;
  /** The 1 h and 6 h burn rates, as the API and status page show them. */
  burnRate1h: number | null;
  burnRate6h: number | null;
}

/** A component's stored incidents and gaps overlapping a window. */
export interface StoredTimeline {
  incidents: IncidentRecord[];
  gaps: Span[];
}

/**
 * Incidents and gaps overlapping `window`, with the gaps reaching back to the start of the first
 * incident, so an incident that began before the window has its whole repair time net of gaps.
 */
export async function storedTimeline(store: Store, component: string, window: Span, now: number): Promise<StoredTimeline> {
  const to = Math.min(window.to, now);
  const found = await store.timeline(component, window.from, to);
  const first = found.incidents[0]?.start;
  if (first === undefined || first >= window.from) return found;
  return { incidents: found.incidents, gaps: (await store.timeline(component, first, to)).gaps };
}

/** The timeline of `stored` over `window`; the maintenance left out reaches back as far as its gaps (the first incident's start). */
function asTimeline(stored: StoredTimeline, staleAfter: number, times: CheckTimes, window: Span, excluded?: ExcludedSpans): Timeline {
  const first = stored.incidents[0]?.start;
  return {
    firstCheckAt: times.firstCheckAt,
    gaps: stored.gaps,
    excluded: excluded?.(first !== undefined && first < window.from ? first : window.from, window.to),
    incidents: stored.incidents.map((i) => ({ start: i.start, end: i.end ?? undefined })),
    lastCheckAt: times.lastCheckAt,
    staleAfter,
  };
}

/**
 * Figures of one component from the store's incidents and gaps: the one computation behind the
 * API, `/metrics`, `nines report` and the status page, so they agree for the same window and time.
 */
export async function storedFigures(
  store: Store,
  component: string,
  staleAfter: number,
  times: CheckTimes,
  window: Span,
  now: number,
  excluded?: ExcludedSpans,
): Promise<WindowFigures> {
  return windowFigures(asTimeline(await storedTimeline(store, component, window, now), staleAfter, times, window, excluded), window, now);
}

/** One UTC day of a component: its figures and the incidents that overlap it. */
export interface DayFigures {
  day: Span;
  figures: WindowFigures;
  incidents: IncidentRecord[];
}

/**
 * Figures of the last `days` UTC days, today's (partial) one last: the same figures as
 * storedFigures gives for each day, from one read of the store.
 */
export async function dailyFigures(
  store: Store,
  component: string,
  staleAfter: number,
  times: CheckTimes,
  days: number,
  now: number,
  excluded?: ExcludedSpans,
): Promise<DayFigures[]> {
  const from = Math.floor(now / DAY) * DAY - (days - 1) * DAY;
  const stored = await storedTimeline(store, component, { from, to: now }, now);
  const timeline = asTimeline(stored, staleAfter, times, { from, to: now }, excluded);
  return Array.from({ length: days }, (_, i) => {
    const day = { from: from + i * DAY, to: from + (i + 1) * DAY };
    const incidents = stored.incidents.filter((inc) => inc.start < day.to && (inc.end ?? now) > day.from);
    return { day, figures: windowFigures(timeline, day, now), incidents };
  });
}

const BURN_LABELS = Object.keys(BURN_WINDOWS) as BurnWindow[];

/** The windows an SLO's figures are made of, as of `now`: its own window, then each burn window in {@link BURN_WINDOWS} order. */
export function sloWindows(slo: SloConfig, now: number): Span[] {
  return [{ from: now - slo.window, to: now }, ...BURN_LABELS.map((label) => ({ from: now - BURN_WINDOWS[label], to: now }))];
}

/** Budget and burn rates of `slo` from the figures of its {@link sloWindows}, in that order; undefined when one is missing. */
export function sloFiguresOf(slo: SloConfig, windows: ReadonlyArray<WindowFigures | undefined>): SloFigures | undefined {
  const [figures, ...burn] = windows;
  if (figures === undefined || burn.length !== BURN_LABELS.length || burn.includes(undefined)) return undefined;
  const budget = errorBudget(slo.objective, slo.window, figures.downMs);
  const burnRates = Object.fromEntries(BURN_LABELS.map((label, i) => [label, burnRate(slo.objective, burn[i] as WindowFigures)])) as Record<
    BurnWindow,
    number | null
  >;
  return {
    name: slo.name,
    component: slo.component,
    objective: slo.objective,
    windowMs: slo.window,
    figures,
    budgetMs: budget.budgetMs,
    budgetRemaining: budget.remaining,
    burnRates,
    burnRate1h: burnRates['1h'],
    burnRate6h: burnRates['6h'],
  };
}

/** Budget and burn rates of `slo` as of `now`, from a figures function over any window. */
export async function sloFigures(
  slo: SloConfig,
  now: number,
  figuresOf: (window: Span) => Promise<WindowFigures | undefined>,
): Promise<SloFigures | undefined> {
  const windows: Array<WindowFigures | undefined> = [];
  for (const window of sloWindows(slo, now)) windows.push(await figuresOf(window));
  return sloFiguresOf(slo, windows);
}
