import { checkInteger, checkNumber } from '../core/validate.js';

/** Default time between two interval evaluations, Envoy's `interval`. */
export const DEFAULT_INTERVAL_MS = 10_000;
/** Default hosts that must have the volume before success rate is judged, Envoy's: a mean of fewer says little. */
export const DEFAULT_SUCCESS_RATE_MINIMUM_HOSTS = 5;
/** Default requests a host needs in the interval to be judged by success rate, Envoy's. */
export const DEFAULT_SUCCESS_RATE_REQUEST_VOLUME = 100;
/** Default stdev factor of the success-rate threshold (mean − factor × stdev), Envoy's 1900 / 1000. */
export const DEFAULT_SUCCESS_RATE_STDEV_FACTOR = 1.9;
/** Default significance of the noise guard: the chance that a host as good as the rest is ejected, per host and interval. */
export const DEFAULT_SUCCESS_RATE_SIGNIFICANCE = 1e-6;
/** Default failure percentage in the interval that ejects, Envoy's. */
export const DEFAULT_FAILURE_PERCENTAGE_THRESHOLD = 85;
/** Default hosts that must have the volume before failure percentage is judged; Envoy's 5 does nothing for 3 hosts. */
export const DEFAULT_FAILURE_PERCENTAGE_MINIMUM_HOSTS = 2;
/** Default requests a host needs in the interval to be judged by failure percentage; Envoy's 50 is 5 req/s. */
export const DEFAULT_FAILURE_PERCENTAGE_REQUEST_VOLUME = 20;

/** Why the interval evaluation flags a host. */
export type IntervalReason = 'success-rate' | 'failure-percentage';

/** Options of {@link IntervalRules}. */
export interface IntervalRuleOptions {
  /** Hosts with the volume needed before success rate is judged; default {@link DEFAULT_SUCCESS_RATE_MINIMUM_HOSTS}. */
  successRateMinimumHosts?: number;
  /** Requests in the interval a host needs to be judged by success rate; default {@link DEFAULT_SUCCESS_RATE_REQUEST_VOLUME}. */
  successRateRequestVolume?: number;
  /** Envoy's `success_rate_stdev_factor` / 1000; default {@link DEFAULT_SUCCESS_RATE_STDEV_FACTOR}. */
  successRateStdevFactor?: number;
  /** Noise guard: eject only failures less likely than this by chance (0 to 1; 1 turns the guard off); default {@link DEFAULT_SUCCESS_RATE_SIGNIFICANCE}. */
  successRateSignificance?: number;
  /** Failure percentage (0 to 100) in the interval that ejects; default {@link DEFAULT_FAILURE_PERCENTAGE_THRESHOLD}. */
  failurePercentageThreshold?: number;
  /** Hosts with the volume needed before failure percentage is judged; default {@link DEFAULT_FAILURE_PERCENTAGE_MINIMUM_HOSTS}. */
  failurePercentageMinimumHosts?: number;
  /** Requests in the interval a host needs to be judged by failure percentage; default {@link DEFAULT_FAILURE_PERCENTAGE_REQUEST_VOLUME}. */
  failurePercentageRequestVolume?: number;
}

/** One host's counts over an interval. */
export interface IntervalCounts {
  /** Calls answered or failed in the interval. */
  requests: number;
  /** Of those, errors and 5xx. */
  failures: number;
}

/** The result of one interval evaluation. */
export interface IntervalVerdict {
  /** Mean success rate and ejection threshold in percent, when enough hosts had the volume (Envoy's admin values). */
  successRate?: { mean: number; threshold: number };
  /** Indexes into the counts that are outliers, in order, with the detector that found each. */
  outliers: { index: number; reason: IntervalReason }[];
}

/** Envoy's success-rate rule over rates in percent: mean − factor × population stdev. */
export function successRateThreshold(rates: readonly number[], stdevFactor = DEFAULT_SUCCESS_RATE_STDEV_FACTOR) {
  let sum = 0;
  for (const r of rates) sum += r;
  const mean = sum / rates.length;
  let variance = 0;
  for (const r of rates) variance += (r - mean) ** 2;
  return { mean, threshold: mean - stdevFactor * Math.sqrt(variance / rates.length) };
}

/**
 * Upper bound on the chance that `requests` calls failing each with probability `p` give at least
 * `failures` failures: the Chernoff bound exp(−n·KL(failures/n ‖ p)); 1 when not above the expected.
 */
export function chanceOfNoise(failures: number, requests: number, p: number): number {
  const q = failures / requests;
  if (q <= p) return 1;
  const kl = q * Math.log(q / p) + (q < 1 ? (1 - q) * Math.log((1 - q) / (1 - p)) : 0);
  return Math.exp(-requests * kl);
}

/** The success-rate and failure-percentage detectors over one interval's counts, with validated options. */
export class IntervalRules {
  readonly #srHosts: number;
  readonly #srVolume: number;
  readonly #factor: number;
  readonly #significance: number;
  readonly #fpThreshold: number;
  readonly #fpHosts: number;
  readonly #fpVolume: number;

  /** Validates every option. */
  constructor(options: IntervalRuleOptions = {}) {
    const o = options;
    this.#srHosts = checkInteger('successRateMinimumHosts', o.successRateMinimumHosts ?? DEFAULT_SUCCESS_RATE_MINIMUM_HOSTS, 1);
    this.#srVolume = checkInteger('successRateRequestVolume', o.successRateRequestVolume ?? DEFAULT_SUCCESS_RATE_REQUEST_VOLUME, 1);
    this.#factor = checkNumber('successRateStdevFactor', o.successRateStdevFactor ?? DEFAULT_SUCCESS_RATE_STDEV_FACTOR);
    this.#significance = checkNumber('successRateSignificance', o.successRateSignificance ?? DEFAULT_SUCCESS_RATE_SIGNIFICANCE, 0, 1);
    this.#fpThreshold = checkNumber(
      'failurePercentageThreshold',
      o.failurePercentageThreshold ?? DEFAULT_FAILURE_PERCENTAGE_THRESHOLD,
      0,
      100,
    );
    this.#fpHosts = checkInteger(
      'failurePercentageMinimumHosts',
      o.failurePercentageMinimumHosts ?? DEFAULT_FAILURE_PERCENTAGE_MINIMUM_HOSTS,
      1,
    );
    this.#fpVolume = checkInteger(
      'failurePercentageRequestVolume',
      o.failurePercentageRequestVolume ?? DEFAULT_FAILURE_PERCENTAGE_REQUEST_VOLUME,
      1,
    );
  }

  /** Flags the outliers among hosts in rotation (ejected hosts must not be passed); `successRate`/`failurePercentage` false skips a detector. */
  evaluate(counts: readonly IntervalCounts[], detectors = { successRate: true, failurePercentage: true }): IntervalVerdict {
    const verdict: IntervalVerdict = { outliers: [] };
    const flagged = new Set<number>();
    const sr = detectors.successRate ? indexesWithVolume(counts, this.#srVolume) : [];
    if (sr.length >= this.#srHosts) {
      const rates = sr.map((i) => rate(counts[i] as IntervalCounts));
      verdict.successRate = successRateThreshold(rates, this.#factor);
      const { threshold } = verdict.successRate;
      let requests = 0;
      let failures = 0;
      for (const i of sr) {
        requests += (counts[i] as IntervalCounts).requests;
        failures += (counts[i] as IntervalCounts).failures;
      }
      sr.forEach((i, k) => {
        const c = counts[i] as IntervalCounts;
        if ((rates[k] as number) >= threshold) return;
        // The guard (not Envoy's): the rest of the cluster's failure rate, with Laplace's +1/+2 so that
        // a spotless rest is not taken for a rate of 0, must make this many failures unlikely by chance.
        const p = (failures - c.failures + 1) / (requests - c.requests + 2);
        if (this.#significance >= 1 || chanceOfNoise(c.failures, c.requests, p) < this.#significance) {
          verdict.outliers.push({ index: i, reason: 'success-rate' });
          flagged.add(i);
        }
      });
    }
    const fp = detectors.failurePercentage ? indexesWithVolume(counts, this.#fpVolume) : [];
    if (fp.length >= this.#fpHosts) {
      for (const i of fp) {
        const c = counts[i] as IntervalCounts;
        if (!flagged.has(i) && 100 - rate(c) >= this.#fpThreshold) verdict.outliers.push({ index: i, reason: 'failure-percentage' });
      }
    }
    return verdict;
  }
}

function rate(c: IntervalCounts): number {
  return ((c.requests - c.failures) * 100) / c.requests;
}

function indexesWithVolume(counts: readonly IntervalCounts[], volume: number): number[] {
  const out: number[] = [];
  counts.forEach((c, i) => {
    if (c.requests >= volume) out.push(i);
  });
  return out;
}
