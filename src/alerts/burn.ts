import type { BurnAlert, BurnCondition } from '../config/burn-alerts.js';
import type { SloFigures } from '../monitor/history.js';

/** One condition of a burn alert as of some figures: both burn rates, and whether both exceed the factor. */
export interface BurnReading extends BurnCondition {
  longBurnRate: number | null;
  shortBurnRate: number | null;
  holds: boolean;
}

/**
 * Reads `alert`'s conditions on an SLO's figures: a condition holds while the burn rates over both its
 * long and its short window exceed its factor (the rule Prometheus evaluates from the exported rules,
 * prometheus-rules.ts). A window with nothing observed has no burn rate and holds nothing.
 */
export function readBurnAlert(alert: BurnAlert, figures: Pick<SloFigures, 'burnRates'>): BurnReading[] {
  return alert.conditions.map((c) => {
    const longBurnRate = figures.burnRates[c.long];
    const shortBurnRate = figures.burnRates[c.short];
    const holds = longBurnRate !== null && shortBurnRate !== null && longBurnRate > c.factor && shortBurnRate > c.factor;
    return { ...c, longBurnRate, shortBurnRate, holds };
  });
}

/** True while any condition of `alert` holds on `figures`. */
export function burning(alert: BurnAlert, figures: Pick<SloFigures, 'burnRates'>): boolean {
  return readBurnAlert(alert, figures).some((r) => r.holds);
}
