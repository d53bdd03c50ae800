import type { Clock, TimerHandle } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { checkInteger, checkNumber } from '../core/validate.js';
import { DEFAULT_INTERVAL_MS, type IntervalCounts, type IntervalReason, type IntervalRuleOptions, IntervalRules } from './outlier-stats.js';

/** Default cap on ejected hosts in percent; half keeps enough capacity for the rest (Envoy's 10 % ejects nothing below 10 hosts). */
export const DEFAULT_MAX_EJECTION_PERCENT = 50;
/** Default first ejection time, Envoy's base ejection time: long enough for a restart, short enough to notice recovery. */
export const DEFAULT_BASE_EJECTION_MS = 30_000;
/** Default cap on one ejection, Envoy's max ejection time: a host ejected again and again is still retried every 5 minutes. */
export const DEFAULT_MAX_EJECTION_MS = 300_000;
/** Default jitter added to an ejection, as a fraction of it; spreads the return of hosts ejected together. */
export const DEFAULT_EJECTION_JITTER = 0.1;
/** Default consecutive failures (errors or 5xx) that eject, Envoy's: one bad burst is not enough. */
export const DEFAULT_CONSECUTIVE_FAILURES = 5;
/** Default consecutive gateway failures (errors, 502, 503, 504) that eject, the same as for all failures. */
export const DEFAULT_CONSECUTIVE_GATEWAY_FAILURES = 5;
/** Default slow-start window: a returning host's weight ramps linearly over 30 s, so cold caches warm before full load. */
export const DEFAULT_SLOW_START_MS = 30_000;
/** Default weight at the start of slow start, Envoy's min weight (10 %): enough traffic to prove the host well. */
export const DEFAULT_SLOW_START_MIN_WEIGHT = 0.1;

/**
 * How many of `hosts` may be ejected at once: floor(hosts × percent / 100), but at least one once
 * there are three hosts (two remain to take the load), and never every host unless percent is 100.
 */
export function maxEjections(hosts: number, percent = DEFAULT_MAX_EJECTION_PERCENT): number {
  checkInteger('hosts', hosts);
  checkNumber('maxEjectionPercent', percent, 0, 100);
  const byPercent = Math.floor((hosts * percent) / 100 + 1e-9);
  return Math.min(hosts - (hosts > 0 && percent < 100 ? 1 : 0), Math.max(byPercent, hosts >= 3 && percent > 0 ? 1 : 0));
}

/** Options of {@link ejectionTime}. */
export interface EjectionTimeOptions {
  /** First ejection's length in ms; default {@link DEFAULT_BASE_EJECTION_MS}. */
  baseEjectionMs?: number;
  /** Longest ejection in ms, before jitter; default {@link DEFAULT_MAX_EJECTION_MS}. */
  maxEjectionMs?: number;
  /** Up to this fraction of the time is added at random; default {@link DEFAULT_EJECTION_JITTER}. */
  jitter?: number;
  /** Source of randomness in [0, 1); default `Math.random`, injectable for tests. */
  random?: () => number;
}

/** Length in ms of the `n`th ejection (n >= 1): base × n, capped at the max, plus jitter. */
export function ejectionTime(n: number, options: EjectionTimeOptions = {}): number {
  const base = options.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS;
  const time = Math.min(base * Math.max(1, n), Math.max(base, options.maxEjectionMs ?? DEFAULT_MAX_EJECTION_MS));
  return time + Math.floor(time * (options.jitter ?? DEFAULT_EJECTION_JITTER) * (options.random ?? Math.random)());
}

/** The result of one call to a host, as the outlier detector sees it. */
export interface CallResult {
  /** The HTTP status, when the host answered. */
  status?: number;
  /** True when the call never got an answer (connection refused, reset, timeout). */
  error?: boolean;
}

/** Where a host is in the outlier cycle. */
export type OutlierState = 'healthy' | 'ejected' | 'slow-start';

/** Which detector found a host to be an outlier. */
export type OutlierReason = 'consecutive-failures' | 'consecutive-gateway-failures' | IntervalReason;

/** Options of {@link OutlierDetector}. */
export interface OutlierDetectorOptions extends EjectionTimeOptions, IntervalRuleOptions {
  /** Clock for ejection, slow-start and interval timers; default the system clock. */
  clock?: Clock;
  /** Time in ms between two evaluations of success rate and failure percentage; default {@link DEFAULT_INTERVAL_MS}. */
  intervalMs?: number;
  /** Chance in percent (0 to 100) that a success-rate outlier is ejected, Envoy's `enforcing_success_rate`; default 100. */
  enforcingSuccessRate?: number;
  /** Chance in percent (0 to 100) that a failure-percentage outlier is ejected; default 100 (Envoy's is 0). */
  enforcingFailurePercentage?: number;
  /** Cap on ejected hosts in percent; default {@link DEFAULT_MAX_EJECTION_PERCENT}. */
  maxEjectionPercent?: number;
  /** Consecutive failures (errors and 5xx) that eject; default {@link DEFAULT_CONSECUTIVE_FAILURES}. */
  consecutiveFailures?: number;
  /** Consecutive gateway failures (errors, 502, 503, 504) that eject; default {@link DEFAULT_CONSECUTIVE_GATEWAY_FAILURES}. */
  consecutiveGatewayFailures?: number;
  /** Slow-start window in ms after un-ejection (0: full weight at once); default {@link DEFAULT_SLOW_START_MS}. */
  slowStartMs?: number;
  /** Weight at the start of slow start, 0 to 1; default {@link DEFAULT_SLOW_START_MIN_WEIGHT}. */
  slowStartMinWeight?: number;
  /** Called on every state change of a host; `reason` is given for ejections. */
  onChange?: (host: string, state: OutlierState, reason?: OutlierReason) => void;
  /** Called when a host reached a threshold but the {@link maxEjections} cap kept it in rotation. */
  onOverflow?: (host: string, reason: OutlierReason) => void;
}

interface HostState {
  state: OutlierState;
  failures: number;
  gatewayFailures: number;
  ejections: number;
  since: number;
  /** When it last reached full weight (slow start over), for the decay of `ejections`. */
  back: number;
  timer?: TimerHandle;
  /** This interval's calls and failures, for the interval detectors. */
  requests: number;
  failed: number;
}

const GATEWAY = new Set([502, 503, 504]);

/** Passive outlier ejection over a set of hosts: counts consecutive failures, ejects, un-ejects on a timer, then slow-starts. */
export class OutlierDetector {
  readonly #hosts = new Map<string, HostState>();
  readonly #clock: Clock;
  readonly #options: OutlierDetectorOptions;
  readonly #failures: number;
  readonly #gatewayFailures: number;
  readonly #slowStartMs: number;
  readonly #minWeight: number;
  readonly #maxPercent: number;
  readonly #rules: IntervalRules;
  readonly #intervalMs: number;
  readonly #enforcing: Record<IntervalReason, number>;
  readonly #random: () => number;
  #ejected = 0;
  #lastSuccessRate?: { mean: number; threshold: number };
  #interval?: TimerHandle;
  #closed = false;

  /** Validates every option and starts the interval timer (unref'd); hosts are added with {@link OutlierDetector.add}. */
  constructor(options: OutlierDetectorOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#failures = checkInteger('consecutiveFailures', options.consecutiveFailures ?? DEFAULT_CONSECUTIVE_FAILURES, 1);
    this.#gatewayFailures = checkInteger(
      'consecutiveGatewayFailures',
      options.consecutiveGatewayFailures ?? DEFAULT_CONSECUTIVE_GATEWAY_FAILURES,
      1,
    );
    this.#slowStartMs = checkNumber('slowStartMs', options.slowStartMs ?? DEFAULT_SLOW_START_MS);
    this.#minWeight = checkNumber('slowStartMinWeight', options.slowStartMinWeight ?? DEFAULT_SLOW_START_MIN_WEIGHT, 0, 1);
    this.#maxPercent = checkNumber('maxEjectionPercent', options.maxEjectionPercent ?? DEFAULT_MAX_EJECTION_PERCENT, 0, 100);
    checkNumber('baseEjectionMs', options.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS, 1);
    checkNumber('maxEjectionMs', options.maxEjectionMs ?? DEFAULT_MAX_EJECTION_MS, 0);
    checkNumber('jitter', options.jitter ?? DEFAULT_EJECTION_JITTER, 0);
    this.#rules = new IntervalRules(options);
    this.#intervalMs = checkNumber('intervalMs', options.intervalMs ?? DEFAULT_INTERVAL_MS, 1);
    this.#enforcing = {
      'success-rate': checkNumber('enforcingSuccessRate', options.enforcingSuccessRate ?? 100, 0, 100),
      'failure-percentage': checkNumber('enforcingFailurePercentage', options.enforcingFailurePercentage ?? 100, 0, 100),
    };
    this.#random = options.random ?? Math.random;
    if (this.#enforcing['success-rate'] > 0 || this.#enforcing['failure-percentage'] > 0) this.#arm();
  }

  /** Clears every timer of the detector (interval, ejections, slow starts); ejected hosts stay ejected, and later results are ignored. */
  close(): void {
    this.#closed = true;
    this.#interval?.clear();
    for (const h of this.#hosts.values()) h.timer?.clear();
  }

  /** Starts tracking `host` as healthy (a no-op if already tracked). */
  add(host: string): void {
    if (!this.#hosts.has(host))
      this.#hosts.set(host, {
        state: 'healthy',
        failures: 0,
        gatewayFailures: 0,
        ejections: 0,
        since: this.#clock.now(),
        back: 0,
        requests: 0,
        failed: 0,
      });
  }

  /** Stops tracking `host` and cancels its timer. */
  remove(host: string): void {
    const h = this.#hosts.get(host);
    if (h === undefined) return;
    h.timer?.clear();
    if (h.state === 'ejected') this.#ejected--;
    this.#hosts.delete(host);
  }

  /** The last interval's success-rate mean and ejection threshold in percent; undefined when too few hosts had the volume. */
  successRateStats(): { mean: number; threshold: number } | undefined {
    return this.#lastSuccessRate;
  }

  /** The host's state; `healthy` for a host never added. */
  state(host: string): OutlierState {
    return this.#hosts.get(host)?.state ?? 'healthy';
  }

  /** The host's ejection count (its next ejection lasts base × (count + 1)); it falls by one per `baseEjectionMs` at full weight, as Envoy's does while a host is not ejected. */
  ejections(host: string): number {
    const h = this.#hosts.get(host);
    return h === undefined ? 0 : this.#decayed(h);
  }

  #decayed(h: HostState): number {
    if (h.state !== 'healthy' || h.ejections === 0) return h.ejections; // no decay until it has proven itself at full weight
    const base = this.#options.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS;
    return Math.max(0, h.ejections - Math.floor((this.#clock.now() - h.back) / base));
  }

  /** The host's balancing weight, 0 to 1: 0 ejected, ramping linearly during slow start, else 1. */
  weight(host: string): number {
    const h = this.#hosts.get(host);
    if (h === undefined || h.state === 'healthy') return 1;
    if (h.state === 'ejected') return 0;
    const ramp = (this.#clock.now() - h.since) / this.#slowStartMs;
    return Math.min(1, this.#minWeight + (1 - this.#minWeight) * ramp);
  }

  /** Feeds one call result of `host`; returns true when it ejected the host. O(1), no allocation: it is on every request's path. */
  record(host: string, result: CallResult): boolean {
    return this.recordStatus(host, result.error === true ? undefined : (result.status ?? 0));
  }

  /** {@link OutlierDetector.record} without the object: the status, or undefined for a call that got no answer. */
  recordStatus(host: string, status: number | undefined): boolean {
    const h = this.#hosts.get(host);
    if (h === undefined || h.state === 'ejected' || this.#closed) return false; // late answers of an ejected host do not count
    const failed = status === undefined || status >= 500;
    const gateway = status === undefined || GATEWAY.has(status);
    h.failures = failed ? h.failures + 1 : 0;
    h.gatewayFailures = gateway ? h.gatewayFailures + 1 : 0;
    h.requests++;
    if (failed) h.failed++;
    if (h.gatewayFailures >= this.#gatewayFailures) return this.#eject(host, h, 'consecutive-gateway-failures', this.#gatewayFailures);
    if (h.failures >= this.#failures) return this.#eject(host, h, 'consecutive-failures', this.#failures);
    return false;
  }

  /** Returns an ejected host at once (an active health check passed, as Envoy's `successful_active_health_check_uneject_host`), then slow start. */
  uneject(host: string): void {
    const h = this.#hosts.get(host);
    if (h === undefined || h.state !== 'ejected' || this.#closed) return;
    h.timer?.clear();
    this.#uneject(host, h);
  }

  #arm(): void {
    this.#interval = this.#clock.setTimeout(() => this.#tick(), this.#intervalMs);
    this.#interval.unref(); // the interval must not keep the process alive
  }

  /** Envoy's interval: swap every host's counters, judge those in rotation, eject the outliers the cap allows. */
  #tick(): void {
    const names: string[] = [];
    const counts: IntervalCounts[] = [];
    for (const [host, h] of this.#hosts) {
      if (h.state !== 'ejected') {
        names.push(host);
        counts.push({ requests: h.requests, failures: h.failed });
      }
      h.requests = 0;
      h.failed = 0;
    }
    const verdict = this.#rules.evaluate(counts, {
      successRate: this.#enforcing['success-rate'] > 0,
      failurePercentage: this.#enforcing['failure-percentage'] > 0,
    });
    this.#lastSuccessRate = verdict.successRate;
    for (const { index, reason } of verdict.outliers) {
      const enforcing = this.#enforcing[reason];
      if (enforcing < 100 && this.#random() * 100 >= enforcing) continue; // Envoy's enforcing_*: detected, not ejected
      const host = names[index] as string;
      const h = this.#hosts.get(host); // an onChange callback may have removed it, or closed us
      if (h !== undefined && h.state !== 'ejected' && !this.#closed) this.#eject(host, h, reason);
    }
    if (!this.#closed) this.#arm();
  }

  /** `threshold` is given for the consecutive detectors, so an overflow is reported once per streak, not per failure. */
  #eject(host: string, h: HostState, reason: OutlierReason, threshold?: number): boolean {
    if (this.#ejected >= maxEjections(this.#hosts.size, this.#maxPercent)) {
      // over the cap: keep counting, so the host goes once a slot frees
      const count = reason === 'consecutive-failures' ? h.failures : h.gatewayFailures;
      if (threshold === undefined || count === threshold) this.#options.onOverflow?.(host, reason);
      return false;
    }
    h.timer?.clear();
    h.ejections = this.#decayed(h) + 1;
    h.failures = 0;
    h.gatewayFailures = 0;
    h.requests = 0; // what it did before the ejection must not judge it after
    h.failed = 0;
    this.#set(host, h, 'ejected', reason);
    if (this.#gone(host, h)) return true; // closed or removed by the onChange callback: no timer after that
    h.timer = this.#clock.setTimeout(() => this.#uneject(host, h), ejectionTime(h.ejections, this.#options));
    h.timer.unref(); // an ejection must not keep the process alive
    return true;
  }

  #uneject(host: string, h: HostState): void {
    if (this.#slowStartMs === 0) {
      this.#set(host, h, 'healthy');
      return;
    }
    this.#set(host, h, 'slow-start');
    if (this.#gone(host, h)) return;
    h.timer = this.#clock.setTimeout(() => this.#set(host, h, 'healthy'), this.#slowStartMs);
    h.timer.unref();
  }

  #gone(host: string, h: HostState): boolean {
    return this.#closed || this.#hosts.get(host) !== h;
  }

  #set(host: string, h: HostState, state: OutlierState, reason?: OutlierReason): void {
    if (state === 'ejected') this.#ejected++;
    else if (h.state === 'ejected') this.#ejected--;
    h.state = state;
    h.since = this.#clock.now();
    if (state === 'healthy') h.back = h.since;
    if (state !== 'ejected') h.timer = undefined;
    this.#options.onChange?.(host, state, reason);
  }
}
