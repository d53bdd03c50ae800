import { z } from 'zod';
import { duration, formatDuration } from './duration.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The short windows every SLO's burn rate is computed and exported over, by label; the burn alerts choose from them. */
export const BURN_WINDOWS = {
  '5m': 5 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '6h': 6 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
} as const;

/** A window label of {@link BURN_WINDOWS}. */
export type BurnWindow = keyof typeof BURN_WINDOWS;

const LABELS = Object.keys(BURN_WINDOWS) as [BurnWindow, ...BurnWindow[]];

/** How loud a burn alert is: `page` wakes someone, `ticket` waits for working hours. */
export type BurnSeverity = 'page' | 'ticket';

/** A long and a short window and the share of the budget the long one must have spent, as written. */
export interface BurnWindowsRule {
  long: BurnWindow;
  short: BurnWindow;
  /** Share of the SLO window's budget spent over `long`, in percent. */
  budget: number;
}

/**
 * The SRE workbook's multi-window, multi-burn-rate pairs (and Sloth's): page at 2 % of the budget in
 * 1 h or 5 % in 6 h, ticket at 10 % in 1 d or 3 d. The short window makes the alert stop soon after
 * the burn does. For a 30-day SLO these are burn rates 14.4, 6, 3 and 1.
 */
export const DEFAULT_BURN_ALERTS: Record<BurnSeverity, readonly BurnWindowsRule[]> = {
  page: [
    { long: '1h', short: '5m', budget: 2 },
    { long: '6h', short: '30m', budget: 5 },
  ],
  ticket: [
    { long: '1d', short: '2h', budget: 10 },
    { long: '3d', short: '6h', budget: 10 },
  ],
};

/** One pair of a burn alert, resolved for its SLO: fires while both windows burn faster than `factor`. */
export interface BurnCondition extends BurnWindowsRule {
  /** budget × SLO window / long window: 14.4 for 2 % of a 30-day budget in 1 h, 13.44 for a 28-day one. */
  factor: number;
}

/** A burn-rate alert of one SLO: firing while any of its conditions holds for `forMs`. */
export interface BurnAlert {
  severity: BurnSeverity;
  conditions: BurnCondition[];
  /** How long a condition must hold before the alert fires. Default 0: the short window already filters blips. */
  forMs: number;
  /** Extra labels of the alert (team, service…), besides slo, component and severity. */
  labels: Record<string, string>;
}

/** The burn rate at which `budget` % of an SLO's budget over `windowMs` is spent in `longMs`. */
export function burnFactor(budget: number, windowMs: number, longMs: number): number {
  return (budget * windowMs) / (100 * longMs); // one rounding: 14.4 exactly, the number the rule file prints
}

/** The fastest an SLO with `objective` % can burn: everything down. */
export function maxBurnRate(objective: number): number {
  return 100 / (100 - objective);
}

/** Label names the alert sets itself. */
const RESERVED_LABELS = ['slo', 'component', 'severity', 'alertname'];

const windowLabel = z.enum(LABELS, { error: `expected one of ${LABELS.join(', ')}` });
const share = z
  .union([z.number(), z.string().regex(/^\d+(?:\.\d+)?%$/)], { error: 'expected a share of the budget like 2% (or the number 2)' })
  .transform((v) => (typeof v === 'number' ? v : Number.parseFloat(v)))
  .refine((v) => v > 0 && v <= 100, 'must be more than 0 % and at most 100 % of the budget');
const windowsRule = z.strictObject({ long: windowLabel, short: windowLabel, budget: share });
const pairs = z
  .array(windowsRule, { error: 'expected a list of { long, short, budget }, or false' })
  .min(1, 'needs at least one pair, or false to turn it off');
/** A list of pairs, or false; not a zod union, whose one message would hide where in the list the problem is. */
const severityRule = z.unknown().transform((value, ctx): false | BurnWindowsRule[] => {
  if (value === false) return false;
  const parsed = pairs.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, input: value } as never);
  return z.NEVER;
});
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const labels = z.record(z.string(), z.string()).superRefine((record, ctx) => {
  for (const key of Object.keys(record)) {
    const problem = !LABEL_NAME.test(key)
      ? 'must be a Prometheus label name: letters, digits and _, not starting with a digit'
      : key.startsWith('__')
        ? 'names starting with __ are reserved by Prometheus'
        : RESERVED_LABELS.includes(key)
          ? `${RESERVED_LABELS.join(', ')} are set by nines`
          : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
  }
});

/** `slos[].alerting`: overrides of the built-in burn-rate alerts. */
export const burnAlerting = z.strictObject({
  /** Pairs that page; false turns paging off. Default {@link DEFAULT_BURN_ALERTS}.page. */
  page: severityRule.optional(),
  /** Pairs that open a ticket; false turns them off. Default {@link DEFAULT_BURN_ALERTS}.ticket. */
  ticket: severityRule.optional(),
  /** How long a condition must hold before the alert fires. Default 0. */
  for: duration().default(0),
  /** Extra labels on every burn alert of the SLO. */
  labels: labels.default({}),
});

type Issue = { path: PropertyKey[]; message: string };

/**
 * The burn alerts of an SLO with `objective` % over `windowMs`. A written pair whose long window is
 * not longer than its short one, exceeds the SLO window, or needs a burn rate the objective cannot
 * reach is a problem; a built-in pair that exceeds the SLO window (a 1-day SLO has no 3-day pair) is
 * left out.
 */
export function resolveBurnAlerts(
  objective: number,
  windowMs: number,
  written: z.output<typeof burnAlerting> | undefined,
  issue: (i: Issue) => void,
): BurnAlert[] {
  const alerts: BurnAlert[] = [];
  for (const severity of ['page', 'ticket'] as const) {
    const own = written?.[severity];
    if (own === false) continue;
    const rules = own ?? DEFAULT_BURN_ALERTS[severity];
    const conditions: BurnCondition[] = [];
    for (const [i, rule] of rules.entries()) {
      const at = (field: string, message: string) => issue({ path: ['alerting', severity, i, field], message });
      const longMs = BURN_WINDOWS[rule.long];
      const factor = burnFactor(rule.budget, windowMs, longMs);
      if (own === undefined) {
        if (longMs <= windowMs) conditions.push({ ...rule, factor });
      } else if (BURN_WINDOWS[rule.short] >= longMs) at('short', `must be shorter than long (${rule.long})`);
      else if (longMs > windowMs) at('long', `must not exceed the SLO window (${formatDuration(windowMs)})`);
      else if (factor >= maxBurnRate(objective))
        at(
          'budget',
          `needs a burn rate of ${round(factor)}, which an objective of ${objective} % never reaches (at most ${round(maxBurnRate(objective))}, everything down)`,
        );
      else conditions.push({ ...rule, factor });
    }
    if (conditions.length > 0) alerts.push({ severity, conditions, forMs: written?.for ?? 0, labels: written?.labels ?? {} });
  }
  return alerts;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
