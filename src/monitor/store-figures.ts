import type { SloConfig } from '../config/index.js';
import { burnRate, errorBudget, type Span, type WindowFigures, windowFigures } from './figures.js';
import type { Store } from './store/types.js';

/** Where a component's first and latest check times come from: the monitor's memory or the stored state. */
export interface CheckTimes {
  firstCheckAt: number | undefined;
  lastCheckAt: number | undefined;
}

/** SLO figures over its window, with burn rates over 1 h and 6 h. */
export interface SloFigures {
  name: string;
  component: string;
  objective: number;
  windowMs: number;
  figures: WindowFigures;
  budgetMs: number;
  /** 1 − downtime / budget; negative once overspent. */
  budgetRemaining: number;
  burnRate1h: number | null;
  burnRate6h: number | null;
}

const HOUR = 3_600_000;

/**
 * Figures of one component from the store's incidents and gaps: the one computation behind the
 * API, `/metrics` and `nines report`, so they agree for the same window and time.
 */
export async function storedFigures(
  store: Store,
  component: string,
  staleAfter: number,
  times: CheckTimes,
  window: Span,
  now: number,
): Promise<WindowFigures> {
  const { incidents, gaps } = await store.timeline(component, window.from, Math.min(window.to, now));
  return windowFigures(
    {
      firstCheckAt: times.firstCheckAt,
      gaps,
      incidents: incidents.map((i) => ({ start: i.start, end: i.end ?? undefined })),
      lastCheckAt: times.lastCheckAt,
      staleAfter,
    },
    window,
    now,
  );
}

/** Budget and burn rates of `slo` as of `now`, from a figures function over any window. */
export async function sloFigures(
  slo: SloConfig,
  now: number,
  figuresOf: (window: Span) => Promise<WindowFigures | undefined>,
): Promise<SloFigures | undefined> {
  const figures = await figuresOf({ from: now - slo.window, to: now });
  const h1 = await figuresOf({ from: now - HOUR, to: now });
  const h6 = await figuresOf({ from: now - 6 * HOUR, to: now });
  if (figures === undefined || h1 === undefined || h6 === undefined) return undefined;
  const budget = errorBudget(slo.objective, slo.window, figures.downMs);
  return {
    name: slo.name,
    component: slo.component,
    objective: slo.objective,
    windowMs: slo.window,
    figures,
    budgetMs: budget.budgetMs,
    budgetRemaining: budget.remaining,
    burnRate1h: burnRate(slo.objective, h1),
    burnRate6h: burnRate(slo.objective, h6),
  };
}
