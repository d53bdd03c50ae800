import type { Clock, TimerHandle } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { checkInteger, checkNumber } from '../core/validate.js';

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

/** Options of {@link OutlierDetector}. */
export interface OutlierDetectorOptions extends EjectionTimeOptions {
  /** Clock for ejection and slow-start timers; default the system clock. */
  clock?: Clock;
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
  /** Called on every state change of a host. */
  onChange?: (host: string, state: OutlierState, reason?: 'consecutive-failures' | 'consecutive-gateway-failures') => void;
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

  /** Validates every option; hosts are added with {@link OutlierDetector.add}. */
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
  }

  /** Starts tracking `host` as healthy (a no-op if already tracked). */
  add(host: string): void {
    if (!this.#hosts.has(host))
      this.#hosts.set(host, { state: 'healthy', failures: 0, gatewayFailures: 0, ejections: 0, since: this.#clock.now(), back: 0 });
  }

  /** Stops tracking `host` and cancels its timer. */
  remove(host: string): void {
    this.#hosts.get(host)?.timer?.clear();
    this.#hosts.delete(host);
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

  /** Feeds one call result of `host`; returns true when it ejected the host. */
  record(host: string, result: CallResult): boolean {
    const h = this.#hosts.get(host);
    if (h === undefined || h.state === 'ejected') return false; // late answers of an ejected host do not count
    const failed = result.error === true || (result.status ?? 0) >= 500;
    const gateway = result.error === true || GATEWAY.has(result.status ?? 0);
    h.failures = failed ? h.failures + 1 : 0;
    h.gatewayFailures = gateway ? h.gatewayFailures + 1 : 0;
    if (h.gatewayFailures >= this.#gatewayFailures) return this.#eject(host, h, 'consecutive-gateway-failures');
    if (h.failures >= this.#failures) return this.#eject(host, h, 'consecutive-failures');
    return false;
  }

  /** Returns an ejected host at once (an active health check passed, as Envoy's `successful_active_health_check_uneject_host`), then slow start. */
  uneject(host: string): void {
    const h = this.#hosts.get(host);
    if (h === undefined || h.state !== 'ejected') return;
    h.timer?.clear();
    this.#uneject(host, h);
  }

  #eject(host: string, h: HostState, reason: 'consecutive-failures' | 'consecutive-gateway-failures'): boolean {
    let ejected = 0;
    for (const other of this.#hosts.values()) if (other.state === 'ejected') ejected++;
    if (ejected >= maxEjections(this.#hosts.size, this.#maxPercent)) return false; // over the cap: keep counting
    h.timer?.clear();
    h.ejections = this.#decayed(h) + 1;
    h.failures = 0;
    h.gatewayFailures = 0;
    this.#set(host, h, 'ejected', reason);
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
    h.timer = this.#clock.setTimeout(() => this.#set(host, h, 'healthy'), this.#slowStartMs);
    h.timer.unref();
  }

  #set(host: string, h: HostState, state: OutlierState, reason?: 'consecutive-failures' | 'consecutive-gateway-failures'): void {
    h.state = state;
    h.since = this.#clock.now();
    if (state === 'healthy') h.back = h.since;
    if (state !== 'ejected') h.timer = undefined;
    this.#options.onChange?.(host, state, reason);
  }
}
