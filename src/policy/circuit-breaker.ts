import { type Clock, systemClock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { Events, reportListenerError } from '../core/events.js';
import { checkFunction, checkInteger, checkNumber } from '../core/validate.js';
import { BrokenCircuitError, IsolatedCircuitError } from './breaker-errors.js';
import { ConsecutiveWindow, CountWindow, type FailureWindow, TimeWindow, type WindowSnapshot } from './breaker-window.js';
import type { BreakerMetrics, PolicyMetrics } from './metrics-sink.js';
import { BasePolicy, type ExecuteContext, type OutcomePredicate, type PolicyFn } from './policy.js';

/** The four states of a breaker. */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Options of {@link CircuitBreaker}; every one has a default. */
export interface CircuitBreakerOptions {
  /** Name used in errors, metrics and the registry. Default `'default'`. */
  name?: string;
  /** How failures are counted: N in a row, a rate over the last N calls, or a rate over the last T ms. Default `'consecutive'`. */
  mode?: 'consecutive' | 'count' | 'time';
  /** Consecutive mode: failures in a row that open the breaker. Default 5. */
  failureThreshold?: number;
  /** Consecutive mode: ms without a failure after which the count starts again. Default 300 000. */
  resetTimeout?: number;
  /** Count mode: number of most recent calls in the window. Default 100. */
  windowSize?: number;
  /** Time mode: length of the window in ms. Default 60 000. */
  windowDuration?: number;
  /** Time mode: slices the window is kept in; more slices forget more smoothly. Default 10. */
  windowBuckets?: number;
  /** Window modes: failure % (0–100) that opens the breaker. Default 50. */
  failureRateThreshold?: number;
  /** Window modes: calls the window must hold before a rate can open the breaker. Default 20. */
  minimumThroughput?: number;
  /** Window modes: a call slower than this (ms) is slow. Default: off. */
  slowCallDuration?: number;
  /** Window modes: slow-call % (0–100) that opens the breaker. Default 100. */
  slowCallRateThreshold?: number;
  /** ms the breaker stays open before letting probes through. Default 60 000. */
  openDuration?: number;
  /** Grow the open duration by `multiplier` after each failed probe, up to `max` ms; reset on close. Default: off. */
  openDurationGrowth?: { multiplier: number; max: number };
  /** Probe calls let through at once while half-open; the rest are rejected. Default 1. */
  halfOpenMaxCalls?: number;
  /** Successful probes that close the breaker. Default 2. */
  successThreshold?: number;
  /** Which outcomes are failures. Default: every thrown error, no result. Errors it rejects count as successes. */
  shouldHandle?: OutcomePredicate;
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
  /** Where to report state and calls. Default: nowhere, at no cost. */
  metrics?: PolicyMetrics;
  /** State saved by {@link CircuitBreaker.toJSON}, to resume after a restart. */
  snapshot?: CircuitBreakerSnapshot;
}

/** Serialisable breaker state; restore it with the same options. */
export interface CircuitBreakerSnapshot {
  version: 1;
  state: CircuitState;
  /** Wall-clock ms of the last state change. */
  since: number;
  /** Wall-clock ms at which an open breaker goes half-open. */
  openUntil: number;
  /** Current open duration (grown after failed probes). */
  openDuration: number;
  halfOpenSuccesses: number;
  window: WindowSnapshot;
}

/** Figures of one breaker, as listed by the registry. */
export interface CircuitBreakerStats {
  name: string;
  state: CircuitState;
  /** Wall-clock ms of the last state change. */
  since: number;
  /** Calls let through to the function. */
  calls: number;
  successes: number;
  failures: number;
  /** Calls refused without running the function. */
  rejections: number;
}

/** Events a breaker emits. */
export interface CircuitBreakerEvents {
  stateChange: { from: CircuitState; to: CircuitState; at: number };
  success: { durationMs: number | undefined };
  failure: { error: unknown; value?: unknown; durationMs: number | undefined };
  reject: { state: CircuitState };
}

/** A hold on an isolated breaker; the breaker closes when every hold is released. */
export interface IsolationHandle {
  release(): void;
}

/**
 * Stops calling a failing dependency for a while, then lets a few probes test it.
 * Outcomes of calls that started before the last state change are ignored.
 */
export class CircuitBreaker extends BasePolicy {
  readonly name: string;
  readonly #clock: Clock;
  readonly #window: FailureWindow;
  readonly #handles: OutcomePredicate | undefined;
  readonly #slowMs: number | undefined;
  readonly #baseOpenMs: number;
  readonly #growth: { multiplier: number; max: number } | undefined;
  readonly #halfOpenMax: number;
  readonly #successThreshold: number;
  readonly #metrics: BreakerMetrics | undefined;
  readonly #events = new BreakerEvents();

  #state: CircuitState = 'closed';
  #generation = 0;
  #since: number;
  #openUntil = 0;
  #openMs: number;
  #probes = 0;
  #halfOpenSuccesses = 0;
  #isolations = 0;
  #calls = 0;
  #successes = 0;
  #failures = 0;
  #rejections = 0;

  /** Validates `options` (a TypeError names the bad one) and restores `options.snapshot` if given. */
  constructor(options: CircuitBreakerOptions = {}) {
    super();
    const o = options;
    this.name = o.name ?? 'default';
    this.#clock = o.clock ?? systemClock;
    checkFunction('shouldHandle', o.shouldHandle);
    this.#handles = o.shouldHandle;
    this.#baseOpenMs = this.#openMs = checkNumber('openDuration', o.openDuration ?? 60_000);
    if (o.openDurationGrowth) {
      checkNumber('openDurationGrowth.multiplier', o.openDurationGrowth.multiplier, 1);
      checkNumber('openDurationGrowth.max', o.openDurationGrowth.max, this.#baseOpenMs);
      this.#growth = { ...o.openDurationGrowth };
    }
    this.#halfOpenMax = checkInteger('halfOpenMaxCalls', o.halfOpenMaxCalls ?? 1, 1);
    this.#successThreshold = checkInteger('successThreshold', o.successThreshold ?? 2, 1);
    const mode = o.mode ?? 'consecutive';
    if (mode === 'consecutive') {
      const threshold = checkInteger('failureThreshold', o.failureThreshold ?? 5, 1);
      this.#window = new ConsecutiveWindow(threshold, checkNumber('resetTimeout', o.resetTimeout ?? 300_000), this.#clock);
    } else if (mode === 'count' || mode === 'time') {
      const thresholds = {
        failureRateThreshold: checkNumber('failureRateThreshold', o.failureRateThreshold ?? 50, 0, 100),
        slowCallRateThreshold: checkNumber('slowCallRateThreshold', o.slowCallRateThreshold ?? 100, 0, 100),
        minimumThroughput: checkInteger('minimumThroughput', o.minimumThroughput ?? 20, 1),
      };
      if (o.slowCallDuration !== undefined) this.#slowMs = checkNumber('slowCallDuration', o.slowCallDuration);
      this.#window =
        mode === 'count'
          ? new CountWindow(checkInteger('windowSize', o.windowSize ?? 100, 1, 1_000_000), thresholds)
          : new TimeWindow(
              checkNumber('windowDuration', o.windowDuration ?? 60_000, 1),
              checkInteger('windowBuckets', o.windowBuckets ?? 10, 1, 1000),
              thresholds,
              this.#clock,
            );
    } else {
      throw new InvalidOptionError(`mode must be 'consecutive', 'count' or 'time', got ${String(mode)}`);
    }
    this.#since = this.#clock.now();
    this.#metrics = o.metrics?.breaker(this.name);
    if (o.snapshot) this.#restore(o.snapshot);
    this.#metrics?.state(this.#state);
  }

  /** Current state; an open breaker whose time is up reports (and becomes) half-open. */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#clock.now() >= this.#openUntil) this.#transition('half-open');
    return this.#state;
  }

  /** Subscribes to `stateChange`, `success`, `failure` or `reject`. */
  on<K extends keyof CircuitBreakerEvents>(event: K, listener: (e: CircuitBreakerEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Runs `fn` in an existing context (used by `compose` to pass `signal` and `attempt` through). */
  run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    const generation = this.#acquire();
    if (generation < 0) return Promise.reject(this.#rejection());
    const start = this.#slowMs !== undefined || this.#events.timed ? this.#clock.now() : -1;
    let promise: Promise<T>;
    try {
      promise = Promise.resolve(fn(context));
    } catch (error) {
      this.#record(generation, start, false, error);
      return Promise.reject(error);
    }
    // One derived promise instead of an async frame and an await. The failure is rethrown (not
    // recorded on a side branch) so a caller who forgets to await still gets Node's warning.
    return promise.then(
      (value) => {
        this.#record(generation, start, true, value);
        return value;
      },
      (error: unknown) => {
        this.#record(generation, start, false, error);
        throw error;
      },
    );
  }

  /** Holds the breaker open, rejecting every call, until each returned handle is released. */
  isolate(): IsolationHandle {
    this.#isolations++;
    this.#transition('isolated');
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (--this.#isolations === 0 && this.#state === 'isolated') this.#close();
      },
    };
  }

  /** Closes the breaker and forgets every recorded outcome and isolation. */
  reset(): void {
    this.#isolations = 0;
    this.#close();
  }

  /** Figures for dashboards and the registry. */
  stats(): CircuitBreakerStats {
    return {
      name: this.name,
      state: this.state,
      since: this.#since,
      calls: this.#calls,
      successes: this.#successes,
      failures: this.#failures,
      rejections: this.#rejections,
    };
  }

  /** State to persist; pass it back as `snapshot` to resume. */
  toJSON(): CircuitBreakerSnapshot {
    return {
      version: 1,
      state: this.state,
      since: this.#since,
      openUntil: this.#openUntil,
      openDuration: this.#openMs,
      halfOpenSuccesses: this.#halfOpenSuccesses,
      window: this.#window.snapshot(),
    };
  }

  #restore(s: CircuitBreakerSnapshot): void {
    if (s === null || typeof s !== 'object' || s.version !== 1)
      throw new InvalidOptionError('snapshot must come from CircuitBreaker.toJSON() (version 1)');
    if (!['closed', 'open', 'half-open', 'isolated'].includes(s.state))
      throw new InvalidOptionError(`snapshot.state is not a breaker state: ${String(s.state)}`);
    this.#state = s.state;
    this.#since = checkNumber('snapshot.since', s.since);
    this.#openUntil = checkNumber('snapshot.openUntil', s.openUntil);
    this.#openMs = checkNumber('snapshot.openDuration', s.openDuration);
    this.#halfOpenSuccesses = checkInteger('snapshot.halfOpenSuccesses', s.halfOpenSuccesses);
    if (s.state === 'isolated') this.#isolations = 1;
    this.#window.restore(s.window);
  }

  /** Admits a call and returns the generation it belongs to, or -1 when it must be rejected. */
  #acquire(): number {
    let state = this.#state;
    if (state === 'closed') {
      this.#calls++;
      return this.#generation;
    }
    if (state === 'open' && this.#clock.now() >= this.#openUntil) {
      this.#transition('half-open');
      state = 'half-open';
    }
    if (state === 'half-open' && this.#probes < this.#halfOpenMax) {
      this.#probes++;
      this.#calls++;
      return this.#generation;
    }
    this.#rejections++;
    this.#metrics?.call('rejected');
    if (this.#events.rejectListened) this.#events.emit('reject', { state });
    return -1;
  }

  /**
   * The error for a rejected call, built without a stack trace: it would only show breaker
   * internals, and capturing it costs microseconds on the path that must stay cheapest.
   */
  #rejection(): BrokenCircuitError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return this.#state === 'isolated'
        ? new IsolatedCircuitError(this.name)
        : new BrokenCircuitError(this.name, Math.max(0, this.#openUntil - this.#clock.now()));
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  #record(generation: number, start: number, ok: boolean, result: unknown): void {
    let failed = !ok;
    if (this.#handles !== undefined) {
      try {
        failed = this.#handles(ok ? { ok, value: result } : { ok, error: result });
      } catch (error) {
        reportListenerError(error); // a broken predicate must not break the caller's call
      }
    }
    if (!failed) this.#onSuccess(generation, start);
    else if (ok) this.#onFailure(generation, start, undefined, result);
    else this.#onFailure(generation, start, result, undefined);
  }

  #onSuccess(generation: number, start: number): void {
    this.#successes++;
    this.#metrics?.call('success');
    const duration = start < 0 ? undefined : this.#clock.now() - start;
    if (this.#events.successListened) this.#events.emit('success', { durationMs: duration });
    if (generation !== this.#generation) return;
    if (this.#state === 'closed') {
      const slow = duration !== undefined && this.#slowMs !== undefined && duration >= this.#slowMs;
      if (this.#window.success(slow)) this.#open();
    } else if (this.#state === 'half-open') {
      this.#probes--;
      if (++this.#halfOpenSuccesses >= this.#successThreshold) this.#close();
    }
  }

  #onFailure(generation: number, start: number, error: unknown, value: unknown): void {
    this.#failures++;
    this.#metrics?.call('failure');
    const duration = start < 0 ? undefined : this.#clock.now() - start;
    if (this.#events.failureListened) this.#events.emit('failure', { error, value, durationMs: duration });
    if (generation !== this.#generation) return;
    if (this.#state === 'closed') {
      const slow = duration !== undefined && this.#slowMs !== undefined && duration >= this.#slowMs;
      if (this.#window.failure(slow)) this.#open();
    } else if (this.#state === 'half-open') {
      if (this.#growth) this.#openMs = Math.min(this.#growth.max, this.#openMs * this.#growth.multiplier);
      this.#open();
    }
  }

  #open(): void {
    this.#openUntil = this.#clock.now() + this.#openMs;
    this.#transition('open');
  }

  #close(): void {
    this.#window.reset();
    this.#openMs = this.#baseOpenMs;
    this.#transition('closed');
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    this.#generation++;
    this.#probes = 0;
    this.#halfOpenSuccesses = 0;
    if (from === to) return;
    this.#state = to;
    this.#since = this.#clock.now();
    this.#metrics?.state(to);
    if (this.#events.stateListened) this.#events.emit('stateChange', { from, to, at: this.#since });
  }
}

/** The breaker's emitter, with cached "is anyone listening" flags for the hot path. */
class BreakerEvents extends Events<CircuitBreakerEvents> {
  successListened = false;
  failureListened = false;
  rejectListened = false;
  stateListened = false;
  /** True when a success or failure listener wants call durations. */
  timed = false;

  override on<K extends keyof CircuitBreakerEvents>(event: K, listener: (e: CircuitBreakerEvents[K]) => void): () => void {
    const off = super.on(event, listener);
    this.#refresh();
    return () => {
      off();
      this.#refresh();
    };
  }

  #refresh(): void {
    this.successListened = this.listening('success');
    this.failureListened = this.listening('failure');
    this.rejectListened = this.listening('reject');
    this.stateListened = this.listening('stateChange');
    this.timed = this.successListened || this.failureListened;
  }
}
