import { InvalidOptionError } from '../core/errors.js';
import { checkInteger, checkNumber } from '../core/validate.js';

/** One tier (Envoy priority level, HAProxy server group): how many of its hosts can take traffic. */
export interface TierHealth {
  /** Hosts currently healthy (not ejected, passing checks). */
  healthy: number;
  /** All hosts of the tier, healthy or not. */
  total: number;
}

/** Options of {@link priorityLoad}. */
export interface PriorityLoadOptions {
  /** How tiers share traffic: `'priority'` spills by health (Envoy), `'backup'` is all-or-nothing (HAProxy backup servers). Default `'priority'`. */
  mode?: 'priority' | 'backup';
  /** Capacity headroom each tier is assumed to have; default 1.4, Envoy's, so a tier keeps all traffic until fewer than ~72 % of its hosts are healthy. */
  overprovisioningFactor?: number;
  /** Healthy percentage below which a tier is in panic (spread over all its hosts), one value or one per tier; default 50, Envoy's. 0 disables panic. */
  panicThreshold?: number | readonly number[];
}

/** The share of traffic each tier gets and whether it is in panic. */
export interface PriorityLoad {
  /** Integer percent per tier; sums to 100, or is all 0 when `noHealthyUpstream`. */
  loads: number[];
  /** Per tier: true when its traffic goes to all of its hosts, healthy or not. */
  panic: boolean[];
  /** Normalized total health, 0 to 100: below 100 the tiers together lack healthy capacity. */
  totalHealth: number;
  /** True when no host is healthy and panic is disabled (threshold 0): the request must fail fast. */
  noHealthyUpstream: boolean;
}

/** Default overprovisioning factor, Envoy's: a tier with 72 % of its hosts healthy still takes all its traffic. */
export const DEFAULT_OVERPROVISIONING_FACTOR = 1.4;
/** Default panic threshold in percent, Envoy's: below half the hosts healthy, the healthy ones would be overloaded. */
export const DEFAULT_PANIC_THRESHOLD = 50;

/**
 * Splits traffic over tiers with Envoy's priority-load arithmetic: a tier's health is
 * min(100, floor(factor × 100 × healthy / total)); tier 0 takes its health, the rest spills to the
 * next tiers in order; when the healths sum below 100 they are scaled to sum 100. Per-tier loads are
 * rounded to the nearest percent (as Envoy's published tables are; Envoy's code truncates and gives
 * the remainder to the first tier) and any remainder goes to the first tier with health.
 */
export function priorityLoad(tiers: readonly TierHealth[], options: PriorityLoadOptions = {}): PriorityLoad {
  const factor = checkNumber('overprovisioningFactor', options.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR, 1);
  const thresholds = panicThresholds(tiers.length, options.panicThreshold ?? DEFAULT_PANIC_THRESHOLD);
  tiers.forEach(checkTier);
  const healthyPercent = tiers.map((t) => (t.total === 0 ? 0 : (100 * t.healthy) / t.total));
  const loads = tiers.map(() => 0);
  const panic = tiers.map(() => false);
  const health =
    options.mode === 'backup'
      ? tiers.map((t) => (t.healthy > 0 ? 100 : 0)) // all to the first tier with a healthy host
      : tiers.map((t) => (t.total === 0 ? 0 : Math.min(100, Math.floor((factor * 100 * t.healthy) / t.total + 1e-9))));
  const sum = health.reduce((a, b) => a + b, 0);
  const totalHealth = Math.min(100, sum);
  if (totalHealth === 0) {
    // Nothing healthy: Envoy sends everything to P=0 in panic, unless panic is disabled there.
    if (tiers.length === 0 || thresholds[0] === 0) return { loads, panic, totalHealth, noHealthyUpstream: true };
    loads[0] = 100;
    panic[0] = true;
    return { loads, panic, totalHealth, noHealthyUpstream: false };
  }
  let remaining = 100;
  const shares = health.map((h) => {
    const share = Math.min(remaining, Math.round((h * 100) / totalHealth));
    remaining -= share;
    return share;
  });
  const first = health.findIndex((h) => h > 0);
  shares[first] = (shares[first] ?? 0) + remaining;
  // Panic only matters when the tiers together lack capacity (Envoy ignores it at total health 100).
  const inPanic = shares.map((share, i) => totalHealth < 100 && share > 0 && (healthyPercent[i] ?? 0) < (thresholds[i] ?? 0));
  return { loads: shares, panic: inPanic, totalHealth, noHealthyUpstream: false };
}

function panicThresholds(count: number, value: number | readonly number[]): number[] {
  if (typeof value === 'number') return Array.from({ length: count }, () => checkNumber('panicThreshold', value, 0, 100));
  if (value.length !== count) {
    throw new InvalidOptionError(`panicThreshold must have one value per tier (${count}), got ${value.length}`);
  }
  return value.map((v, i) => checkNumber(`panicThreshold[${i}]`, v, 0, 100));
}

function checkTier(tier: TierHealth, i: number): void {
  checkInteger(`tiers[${i}].total`, tier.total);
  checkInteger(`tiers[${i}].healthy`, tier.healthy, 0, tier.total);
}
