import { type Clock, systemClock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { Events } from '../core/events.js';
import { checkNumber } from '../core/validate.js';
import { TimeoutError, type TimeoutPolicy, timeout } from '../policy/timeout.js';
import { overallStatus } from './status.js';
import type { CheckResult, HealthCheck, HealthStatus } from './types.js';

/** Options of one registered check. */
export interface RegisterOptions {
  /** Readiness fails while a critical check is unhealthy. Default false. */
  critical?: boolean;
  /** ms before a run is abandoned as unhealthy with error `timeout`. Default 5000. */
  timeout?: number;
  /** A passing run slower than this (ms) is `degraded`. Default 1000. */
  degradedAfter?: number;
  /** ms between runs in background mode. Default: the registry's `interval`. */
  interval?: number;
  /** Free-form labels, shown in results. */
  tags?: string[];
  /** Liveness fails when this check has been unhealthy longer than the probe's `livenessGrace`. Default false. */
  liveness?: boolean;
}

/** Options of {@link HealthCheckRegistry}. */
export interface HealthRegistryOptions {
  /** Default ms between background runs. Default 10 000. */
  interval?: number;
  /** Source of time. Default `systemClock`. */
  clock?: Clock;
  /** Receives every result, e.g. `healthMetrics(registry)` from `nines/metrics`. */
  metrics?: { result(result: CheckResult): void };
}

/** A point-in-time view of every check. */
export interface HealthReport {
  status: HealthStatus;
  /** Wall-clock ms the report was made. */
  time: number;
  checks: CheckResult[];
}

/** Events a registry emits. */
export interface HealthRegistryEvents {
  result: CheckResult;
  statusChange: { from: HealthStatus; to: HealthStatus };
}

interface Entry {
  name: string;
  check: HealthCheck;
  critical: boolean;
  degradedAfter: number;
  interval: number;
  tags: string[];
  liveness: boolean;
  timeout: TimeoutPolicy;
  latest: CheckResult;
  running: Promise<CheckResult> | undefined;
  /** Wall-clock ms since the check has been unhealthy without a break; undefined when it is not. */
  unhealthySince: number | undefined;
  timer: { clear(): void } | undefined;
}

/** Named health checks, run on demand or in the background; each run is single-flight and bounded by its timeout. */
export class HealthCheckRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #metrics: HealthRegistryOptions['metrics'];
  readonly #events = new Events<HealthRegistryEvents>();
  #status: HealthStatus = 'healthy'; // no checks: nothing is wrong
  #running = false;

  constructor(options: HealthRegistryOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#interval = checkNumber('interval', options.interval ?? 10_000, 1);
    this.#metrics = options.metrics;
  }

  /** Adds a check; names are unique. In background mode it starts running at once. */
  register(name: string, check: HealthCheck, options: RegisterOptions = {}): this {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError('name must be a non-empty string');
    if (this.#entries.has(name)) throw new InvalidOptionError(`name "${name}" is already registered`);
    if (typeof check !== 'function') throw new InvalidOptionError('check must be a function');
    const entry: Entry = {
      name,
      check,
      critical: options.critical ?? false,
      degradedAfter: checkNumber('degradedAfter', options.degradedAfter ?? 1000),
      interval: checkNumber('interval', options.interval ?? this.#interval, 1),
      tags: [...(options.tags ?? [])],
      liveness: options.liveness ?? false,
      timeout: timeout(checkNumber('timeout', options.timeout ?? 5000, 1), { strategy: 'aggressive', clock: this.#clock }),
      latest: undefined as unknown as CheckResult,
      running: undefined,
      unhealthySince: undefined,
      timer: undefined,
    };
    entry.latest = { name, status: 'unknown', critical: entry.critical, durationMs: 0, time: this.#clock.now(), tags: entry.tags };
    this.#entries.set(name, entry);
    this.#refreshStatus();
    if (this.#running) this.#loop(entry);
    return this;
  }

  /** Removes a check and stops its background runs. */
  unregister(name: string): boolean {
    const entry = this.#entries.get(name);
    entry?.timer?.clear();
    const removed = this.#entries.delete(name);
    this.#refreshStatus();
    return removed;
  }

  /** Names of the registered checks. */
  get names(): string[] {
    return [...this.#entries.keys()];
  }

  /** True between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.#running;
  }

  /** Subscribes to `result` or `statusChange`. */
  on<K extends keyof HealthRegistryEvents>(event: K, listener: (e: HealthRegistryEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Runs one check now, or joins the run already in progress. */
  run(name: string): Promise<CheckResult> {
    const entry = this.#entries.get(name);
    if (entry === undefined) return Promise.reject(new TypeError(`no check named "${name}"`));
    return this.#run(entry);
  }

  /** Runs every check now, in parallel, each under its own timeout. */
  async runAll(): Promise<HealthReport> {
    await Promise.all([...this.#entries.values()].map((e) => this.#run(e)));
    return this.report();
  }

  /** The latest result of every check, without running anything. */
  report(): HealthReport {
    const checks = [...this.#entries.values()].map((e) => e.latest);
    return { status: overallStatus(checks), time: this.#clock.now(), checks };
  }

  /** Overall status from the latest results; kept current on every result, so reading it costs nothing. */
  get status(): HealthStatus {
    return this.#status;
  }

  /** Names of `liveness: true` checks that have been unhealthy for at least `graceMs`. */
  prolongedFailures(graceMs: number): string[] {
    const now = this.#clock.now();
    const out: string[] = [];
    for (const e of this.#entries.values()) {
      if (e.liveness && e.unhealthySince !== undefined && now - e.unhealthySince >= graceMs) out.push(e.name);
    }
    return out;
  }

  /** Background mode: each check runs now and then every `interval` after its previous run ends. */
  start(): this {
    if (this.#running) return this;
    this.#running = true;
    for (const entry of this.#entries.values()) this.#loop(entry);
    return this;
  }

  /** Stops background runs; runs in progress finish on their own. */
  stop(): void {
    this.#running = false;
    for (const entry of this.#entries.values()) {
      entry.timer?.clear();
      entry.timer = undefined;
    }
  }

  #loop(entry: Entry): void {
    void this.#run(entry).then(() => {
      if (!this.#running || this.#entries.get(entry.name) !== entry) return;
      const timer = this.#clock.setTimeout(() => this.#loop(entry), entry.interval);
      timer.unref(); // background checks never keep the process alive
      entry.timer = timer;
    });
  }

  #run(entry: Entry): Promise<CheckResult> {
    entry.running ??= this.#execute(entry).finally(() => {
      entry.running = undefined;
    });
    return entry.running;
  }

  async #execute(entry: Entry): Promise<CheckResult> {
    const time = this.#clock.now();
    let result: CheckResult;
    try {
      const outcome = (await entry.timeout.execute((ctx) => entry.check({ signal: ctx.signal }))) ?? {};
      const durationMs = this.#clock.now() - time;
      let status: HealthStatus = outcome.status ?? 'healthy';
      let error = outcome.error;
      if (status === 'healthy' && durationMs > entry.degradedAfter) {
        status = 'degraded';
        error = `slow: ${durationMs} ms > ${entry.degradedAfter} ms`;
      }
      result = this.#result(entry, time, durationMs, status, error, outcome.details);
    } catch (e) {
      const error = e instanceof TimeoutError ? 'timeout' : e instanceof Error ? e.message || e.name : String(e);
      result = this.#result(entry, time, this.#clock.now() - time, 'unhealthy', error, undefined);
    }
    entry.latest = result;
    if (result.status === 'unhealthy') entry.unhealthySince ??= time;
    else entry.unhealthySince = undefined;
    this.#metrics?.result(result);
    this.#events.emit('result', result);
    this.#refreshStatus();
    return result;
  }

  #refreshStatus(): void {
    const status = overallStatus([...this.#entries.values()].map((e) => e.latest));
    if (status === this.#status) return;
    const from = this.#status;
    this.#status = status;
    this.#events.emit('statusChange', { from, to: status });
  }

  #result(
    entry: Entry,
    time: number,
    durationMs: number,
    status: HealthStatus,
    error: string | undefined,
    details: Record<string, unknown> | undefined,
  ): CheckResult {
    const r: CheckResult = { name: entry.name, status, critical: entry.critical, durationMs, time, tags: entry.tags };
    if (error !== undefined) r.error = error;
    if (details !== undefined) r.details = details;
    return r;
  }
}
