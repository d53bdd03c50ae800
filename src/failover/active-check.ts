import type { Clock, TimerHandle } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { InvalidOptionError, NinesError } from '../core/errors.js';
import { reportListenerError } from '../core/events.js';
import { checkFunction, checkInteger, checkNumber, checkString } from '../core/validate.js';

/** Default interval between two probes of a fully up endpoint, HAProxy's `inter` (2 s). */
export const DEFAULT_CHECK_INTERVAL_MS = 2000;
/** Default interval while an endpoint is up but has had no traffic, Envoy's `no_traffic_interval` (60 s). */
export const DEFAULT_IDLE_INTERVAL_MS = 60_000;
/** Default time without traffic after which a fully up endpoint counts as idle: as long as one idle interval. */
export const DEFAULT_IDLE_AFTER_MS = 60_000;
/** Default probe timeout (capped at half the interval): Kubernetes' probe default; a slower readiness answer is itself a sign of overload. */
export const DEFAULT_CHECK_TIMEOUT_MS = 1000;
/** Default consecutive passes that bring a down endpoint up, HAProxy's `rise`. */
export const DEFAULT_HEALTHY_THRESHOLD = 2;
/** Default consecutive failures that take an up endpoint down, HAProxy's `fall`. */
export const DEFAULT_UNHEALTHY_THRESHOLD = 3;
/** Default random spread of each interval, ± this fraction (HAProxy's `spread-checks`, which allows up to 50 %). */
export const DEFAULT_CHECK_JITTER = 0.1;

/** Node's timers overflow above 2³¹ − 1 ms (and then fire after 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

/** What one probe saw: `status` when the endpoint answered, `error` when it did not (refused, timeout, reset). */
export interface ProbeOutcome {
  /** The HTTP status of the answer. */
  status?: number;
  /** Why no answer came. */
  error?: unknown;
}

/** Probes `endpoint` (an origin, e.g. `http://127.0.0.1:8081`); must stop when `signal` aborts. */
export type Probe = (endpoint: string, signal: AbortSignal) => Promise<ProbeOutcome>;

/** Whether an endpoint is in rotation as far as its active checks go. */
export type CheckState = 'up' | 'down';

/** Options of {@link ActiveHealthChecker}. */
export interface ActiveCheckOptions {
  /** Interval between probes of a fully up endpoint in ms (HAProxy's `inter`); default {@link DEFAULT_CHECK_INTERVAL_MS}. */
  intervalMs?: number;
  /** Interval while changing state (up going down, down going up) or not yet checked (HAProxy's `fastinter`); default `intervalMs`. */
  fastIntervalMs?: number;
  /** Interval while fully down (HAProxy's `downinter`); default `intervalMs`. */
  downIntervalMs?: number;
  /** Interval while fully up and idle (Envoy's `no_traffic_interval`); default {@link DEFAULT_IDLE_INTERVAL_MS}. */
  idleIntervalMs?: number;
  /** Time without traffic (see {@link ActiveHealthChecker.noteTraffic}) after which an endpoint is idle; default {@link DEFAULT_IDLE_AFTER_MS}, `Infinity` never. */
  idleAfterMs?: number;
  /** Per-probe timeout in ms, below `intervalMs`; a timeout is a failure. Default {@link DEFAULT_CHECK_TIMEOUT_MS}, at most half of `intervalMs`. */
  timeoutMs?: number;
  /** Consecutive passes that bring a down endpoint up (HAProxy's `rise`); default {@link DEFAULT_HEALTHY_THRESHOLD}. */
  healthyThreshold?: number;
  /** Consecutive failures that take an up endpoint down (HAProxy's `fall`); default {@link DEFAULT_UNHEALTHY_THRESHOLD}. */
  unhealthyThreshold?: number;
  /** Each interval is moved by up to ± this fraction at random, 0 to 0.5; default {@link DEFAULT_CHECK_JITTER}. */
  jitter?: number;
  /** State of an endpoint added without one; default `'up'` (HAProxy's start: up, decided by the first probe). */
  initialState?: CheckState;
  /** True when the outcome means the endpoint is draining: down at once, then `rise` passes to return. Default: status 503. */
  isDraining?: (outcome: ProbeOutcome) => boolean;
  /** True when the outcome is a pass. Default: status 200 to 399. */
  isHealthy?: (outcome: ProbeOutcome) => boolean;
  /** Clock for the schedule and the timeouts; default the system clock. */
  clock?: Clock;
  /** Source of randomness in [0, 1) for the first probe's spread and the jitter; default `Math.random`. */
  random?: () => number;
  /** Called when an endpoint goes up (`rise`) or down (`fall` after `unhealthyThreshold` failures, `drain` at once). */
  onChange?: (endpoint: string, state: CheckState, reason: 'rise' | 'fall' | 'drain') => void;
  /** Called after every probe, with how it counted (for the `nines_upstream_health_checks` metric). */
  onCheck?: (endpoint: string, result: 'pass' | 'fail' | 'drain', outcome: ProbeOutcome) => void;
}

interface Endpoint {
  readonly name: string;
  /** HAProxy's health counter: 0 to rise + fall − 1; up when >= rise; rise + fall − 1 is fully up, 0 fully down. */
  health: number;
  /** Traffic seen since the last schedule (a flag, so the hot path reads no clock). */
  traffic: boolean;
  lastTraffic: number;
  /** When the last probe finished, so a wake from idle keeps the normal spacing. */
  lastDone: number;
  /** The pending timer uses the idle interval. */
  idle: boolean;
  /** The pending probe was brought forward by an observed failure. */
  expedited?: boolean;
  timer?: TimerHandle;
  /** The probe in flight, and its timeout. */
  run?: AbortController;
  timeout?: TimerHandle;
}

const defaultDraining = (o: ProbeOutcome): boolean => o.status === 503;
const defaultHealthy = (o: ProbeOutcome): boolean => o.status !== undefined && o.status >= 200 && o.status < 400;

/**
 * Active health checks per endpoint with HAProxy's semantics on the injectable clock: a health
 * counter (`rise` passes up, `fall` failures down, a pass resets the failures and a failure the
 * passes), HAProxy's interval per state, a slower interval when idle, drain (503) down at once. The
 * next probe is scheduled when the current one finishes, so probes of an endpoint never overlap;
 * every timer is unref'd.
 */
export class ActiveHealthChecker {
  readonly #probe: Probe;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #inter: number;
  readonly #fastInter: number;
  readonly #downInter: number;
  readonly #idleInter: number;
  readonly #idleAfter: number;
  readonly #timeout: number;
  readonly #rise: number;
  readonly #max: number;
  readonly #jitter: number;
  readonly #initial: CheckState;
  readonly #isDraining: (o: ProbeOutcome) => boolean;
  readonly #isHealthy: (o: ProbeOutcome) => boolean;
  readonly #options: ActiveCheckOptions;
  #closed = false;

  /** Validates every option; endpoints are added with {@link ActiveHealthChecker.add}. */
  constructor(probe: Probe, options: ActiveCheckOptions = {}) {
    if (typeof probe !== 'function') throw new InvalidOptionError(`probe must be a function, got ${typeof probe}`);
    this.#probe = probe;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#inter = checkNumber('intervalMs', options.intervalMs ?? DEFAULT_CHECK_INTERVAL_MS, 1, MAX_TIMER_MS);
    this.#fastInter = checkNumber('fastIntervalMs', options.fastIntervalMs ?? this.#inter, 1, MAX_TIMER_MS);
    this.#downInter = checkNumber('downIntervalMs', options.downIntervalMs ?? this.#inter, 1, MAX_TIMER_MS);
    this.#idleInter = checkNumber('idleIntervalMs', options.idleIntervalMs ?? DEFAULT_IDLE_INTERVAL_MS, 1, MAX_TIMER_MS);
    this.#idleAfter = checkNumber('idleAfterMs', options.idleAfterMs ?? DEFAULT_IDLE_AFTER_MS);
    this.#timeout = checkNumber('timeoutMs', options.timeoutMs ?? Math.min(DEFAULT_CHECK_TIMEOUT_MS, this.#inter / 2), 1, MAX_TIMER_MS);
    if (this.#timeout >= this.#inter) {
      throw new InvalidOptionError(`timeoutMs must be below intervalMs (${this.#inter}), got ${this.#timeout}`);
    }
    this.#rise = checkInteger('healthyThreshold', options.healthyThreshold ?? DEFAULT_HEALTHY_THRESHOLD, 1, 1000);
    this.#max = this.#rise + checkInteger('unhealthyThreshold', options.unhealthyThreshold ?? DEFAULT_UNHEALTHY_THRESHOLD, 1, 1000) - 1;
    this.#jitter = checkNumber('jitter', options.jitter ?? DEFAULT_CHECK_JITTER, 0, 0.5);
    this.#initial = checkState('initialState', options.initialState ?? 'up');
    for (const name of ['isDraining', 'isHealthy', 'random', 'onChange', 'onCheck'] as const) checkFunction(name, options[name]);
    this.#isDraining = options.isDraining ?? defaultDraining;
    this.#isHealthy = options.isHealthy ?? defaultHealthy;
  }

  /**
   * Starts checking `endpoint` (a no-op if already checked, or after {@link ActiveHealthChecker.close}).
   * It starts `state` but unchecked, HAProxy's init-state `up` or `down`: the first probe decides,
   * a failure takes an up endpoint down, a pass brings a down one up. The first probe comes after a
   * random part of the interval, so endpoints added together are not probed together.
   */
  add(endpoint: string, state: CheckState = this.#initial): void {
    checkString('endpoint', endpoint);
    checkState('state', state);
    if (this.#closed || this.#endpoints.has(endpoint)) return;
    const now = this.#clock.now();
    const h: Endpoint = {
      name: endpoint,
      health: state === 'up' ? this.#rise : this.#rise - 1,
      traffic: false,
      lastTraffic: now,
      lastDone: now,
      idle: false,
    };
    this.#endpoints.set(endpoint, h);
    this.#arm(h, Math.floor(this.#random() * this.#interval(h)));
  }

  /** Stops checking `endpoint`: cancels its timer and aborts its probe in flight, whose result is then ignored. */
  remove(endpoint: string): void {
    const h = this.#endpoints.get(endpoint);
    if (h === undefined) return;
    this.#endpoints.delete(endpoint);
    h.timer?.clear();
    h.timeout?.clear();
    const run = h.run;
    h.run = undefined;
    run?.abort();
  }

  /** The endpoint's state; `'up'` for an endpoint not checked, so an unchecked one is never held back. */
  state(endpoint: string): CheckState {
    const h = this.#endpoints.get(endpoint);
    return h === undefined || h.health >= this.#rise ? 'up' : 'down';
  }

  /** Tells the checker `endpoint` got a request (per request, so only a flag is set); wakes an idle schedule. */
  noteTraffic(endpoint: string): void {
    const h = this.#endpoints.get(endpoint);
    if (h === undefined) return;
    h.traffic = true;
    if (h.idle) this.#wake(h);
  }

  /**
   * A request could not connect to `endpoint`: HAProxy's `observe layer4`. By default it counts as
   * a failed check (`on-error fail-check`); with `markDown` (a refused connection: nothing listens
   * there) the endpoint is down at once (`on-error mark-down`). Either way its next probe comes at
   * the fast interval, so it is back as soon as it answers again.
   */
  observeFailure(endpoint: string, markDown = false): void {
    const h = this.#endpoints.get(endpoint);
    if (h === undefined || this.#closed) return;
    const wasUp = h.health >= this.#rise;
    h.health = !markDown && h.health - 1 >= this.#rise ? h.health - 1 : 0;
    if (h.timer !== undefined && !h.expedited) {
      h.expedited = true; // once per probe: a burst of refusals must not keep moving the probe
      h.timer.clear();
      h.idle = false;
      this.#arm(h, this.#jittered(this.#fastInter));
    }
    if (wasUp && h.health < this.#rise) call(this.#options.onChange, h.name, 'down', 'fall');
  }

  /**
   * A request's connection to `endpoint` broke off (a reset): HAProxy's `on-error sudden-death`.
   * One more failed check takes an up endpoint down, and that check runs now, or one fast interval
   * after the last one (so a host resetting connections all the time is not probed in a loop).
   * True when a probe result will follow (the endpoint is checked, up, and the checker open).
   */
  suspect(endpoint: string): boolean {
    const h = this.#endpoints.get(endpoint);
    if (h === undefined || this.#closed || h.health < this.#rise) return false;
    h.health = this.#rise;
    if (h.run !== undefined) return true; // the probe on its way decides
    h.timer?.clear();
    h.idle = false;
    h.expedited = true;
    this.#arm(h, Math.max(0, h.lastDone + this.#fastInter - this.#clock.now()));
    return true;
  }

  /** Stops everything: no timer left, every probe in flight aborted. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const endpoint of [...this.#endpoints.keys()]) this.remove(endpoint);
  }

  /** HAProxy's interval for the endpoint's health (its `srv_getinter()`): inter when fully up, downinter when fully down, else fastinter. */
  #interval(h: Endpoint): number {
    if (h.health === this.#max) return this.#inter;
    if (h.health === 0) return this.#downInter;
    return this.#fastInter;
  }

  /** `ms` moved by up to ± jitter at random, HAProxy's spread-checks: ms + rv − 2·rv·random. */
  #jittered(ms: number): number {
    return Math.round(ms * (1 + this.#jitter * (1 - 2 * this.#random())));
  }

  #arm(h: Endpoint, ms: number): void {
    h.timer = this.#clock.setTimeout(() => this.#run(h), ms);
    h.timer.unref(); // health checks must not keep the process alive
  }

  /** Schedules the next probe from now, the current one having finished. */
  #schedule(h: Endpoint): void {
    const now = this.#clock.now();
    if (h.traffic) {
      h.traffic = false;
      h.lastTraffic = now;
    }
    h.idle = h.health === this.#max && now - h.lastTraffic >= this.#idleAfter;
    this.#arm(h, this.#jittered(h.idle ? this.#idleInter : this.#interval(h)));
  }

  /** Traffic came back to an idle endpoint: the next probe comes one normal interval after the last. */
  #wake(h: Endpoint): void {
    h.idle = false;
    h.timer?.clear();
    this.#arm(h, Math.max(0, h.lastDone + this.#jittered(this.#inter) - this.#clock.now()));
  }

  #run(h: Endpoint): void {
    h.timer = undefined;
    h.idle = false;
    h.expedited = false;
    const controller = new AbortController();
    h.run = controller;
    const finish = (outcome: ProbeOutcome) => {
      if (h.run !== controller) return; // removed, closed, or already timed out
      h.run = undefined;
      h.timeout?.clear();
      h.timeout = undefined;
      this.#record(h, outcome ?? {});
    };
    h.timeout = this.#clock.setTimeout(() => {
      const error = new NinesError('NINES_TIMEOUT', `health check of ${h.name} timed out after ${this.#timeout} ms`);
      finish({ error });
      controller.abort(error); // after finish, so the probe's own rejection is ignored
    }, this.#timeout);
    h.timeout.unref();
    let pending: Promise<ProbeOutcome>;
    try {
      pending = Promise.resolve(this.#probe(h.name, controller.signal));
    } catch (error) {
      pending = Promise.resolve({ error });
    }
    pending.then(finish, (error: unknown) => finish({ error }));
  }

  /** Counts one finished probe on HAProxy's health counter, schedules the next, then tells the listeners. */
  #record(h: Endpoint, outcome: ProbeOutcome): void {
    h.lastDone = this.#clock.now();
    const result = this.#classify(outcome);
    const wasUp = h.health >= this.#rise;
    if (result === 'drain') h.health = 0;
    else if (result === 'pass') h.health = h.health + 1 >= this.#rise ? this.#max : h.health + 1;
    else h.health = h.health - 1 >= this.#rise ? h.health - 1 : 0;
    const up = h.health >= this.#rise;
    this.#schedule(h);
    call(this.#options.onCheck, h.name, result, outcome);
    if (up !== wasUp) call(this.#options.onChange, h.name, up ? 'up' : 'down', up ? 'rise' : result === 'drain' ? 'drain' : 'fall');
  }

  #classify(outcome: ProbeOutcome): 'pass' | 'fail' | 'drain' {
    try {
      if (this.#isDraining(outcome)) return 'drain';
      return this.#isHealthy(outcome) ? 'pass' : 'fail';
    } catch (error) {
      reportListenerError(error); // a predicate that throws counts as a failure, never stops the schedule
      return 'fail';
    }
  }
}

function checkState(name: string, value: unknown): CheckState {
  if (value !== 'up' && value !== 'down') throw new InvalidOptionError(`${name} must be 'up' or 'down', got ${String(value)}`);
  return value;
}

function call<A extends unknown[]>(listener: ((...args: A) => void) | undefined, ...args: A): void {
  if (listener === undefined) return;
  try {
    listener(...args);
  } catch (error) {
    reportListenerError(error);
  }
}
