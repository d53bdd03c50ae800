import { type Clock, systemClock } from '../core/clock.js';
import { InvalidOptionError, NinesError } from '../core/errors.js';
import { checkFunction, checkNumber } from '../core/validate.js';
import { type HookResult, runHook, type ShutdownHook, type ShutdownHookFn } from './hooks.js';
import { jsonLogger, type ShutdownLogger } from './logger.js';
import type { LifecycleMetrics } from './metrics-sink.js';
import { type HttpServer, type InFlightRequest, RequestTracker } from './request-tracker.js';

/** Options of {@link GracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** ms between the start of shutdown and closing the listeners, so load balancers see readiness fail first. Default 5000. */
  drainDelay?: number;
  /** ms in-flight requests get once draining ends; then their sockets are destroyed. Default 30 000. */
  timeout?: number;
  /** ms each hook may run unless `addHook` says otherwise. Default 5000. */
  hookTimeout?: number;
  /** Signals that start shutdown; any of them again during shutdown forces exit(1). Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  /** Listen to `signals` from construction until {@link GracefulShutdown.dispose}. Default true. */
  handleSignals?: boolean;
  /** Ends the process: 0 after a clean shutdown, 1 when anything was forced. Default `process.exit`. */
  exit?: (code: number) => void;
  /** pino-compatible logger. Default: one JSON line per event on stderr. */
  logger?: ShutdownLogger;
  /** Gauges for in-flight requests and shutdown, e.g. `lifecycleMetrics(registry)` from `nines/metrics`. */
  metrics?: LifecycleMetrics;
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
}

/** Options of {@link GracefulShutdown.addHook}. */
export interface HookOptions {
  /** ms this hook may run. Default: the shutdown's `hookTimeout`. */
  timeout?: number;
  /**
   * Start it when shutdown starts, alongside the drain, instead of after the listeners close: for
   * work others wait on (handing over a lease, leaving service discovery). Awaited before the other hooks. Default false.
   */
  atDrain?: boolean;
}

/** What {@link GracefulShutdown.shutdown} did. */
export interface ShutdownReport {
  /** What started it: the signal name or the argument of `shutdown()`. */
  reason: string;
  /** True when requests were cut or a hook failed; the exit code is then 1. */
  forced: boolean;
  /** Requests still in progress at the timeout, whose sockets were destroyed. */
  cutRequests: number;
  /** Each hook's outcome, in the order they ran (reverse of registration). */
  hooks: HookResult[];
  /** From the start of shutdown to the call of `exit`. */
  durationMs: number;
}

// Enough to see what was cut without one line of megabytes when thousands of requests hang.
const MAX_LOGGED_CUTS = 100;

/**
 * Stops a service without dropping requests: readiness goes false, load balancers get `drainDelay`
 * to notice, listeners close, in-flight requests finish (up to `timeout`), hooks run, the process exits.
 */
export class GracefulShutdown {
  readonly #drainDelay: number;
  readonly #timeout: number;
  readonly #hookTimeout: number;
  readonly #signals: readonly NodeJS.Signals[];
  readonly #exit: (code: number) => void;
  readonly #clock: Clock;
  readonly #logger: ShutdownLogger;
  readonly #metrics: LifecycleMetrics | undefined;
  readonly #trackers: RequestTracker[] = [];
  readonly #hooks: ShutdownHook[] = [];
  /** Hooks started with the drain (`atDrain`). */
  readonly #drainHooks: ShutdownHook[] = [];
  #running: Promise<ShutdownReport> | undefined;
  #exited = false;
  #listening = false;

  /** Validates `options` and, unless `handleSignals` is false, starts listening to the signals. */
  constructor(options: GracefulShutdownOptions = {}) {
    this.#drainDelay = checkNumber('drainDelay', options.drainDelay ?? 5_000);
    this.#timeout = checkNumber('timeout', options.timeout ?? 30_000);
    this.#hookTimeout = checkNumber('hookTimeout', options.hookTimeout ?? 5_000);
    checkFunction('exit', options.exit);
    this.#exit = options.exit ?? ((code) => process.exit(code));
    this.#signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    if (!Array.isArray(this.#signals))
      throw new InvalidOptionError(`signals must be an array of signal names, got ${String(this.#signals)}`);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? jsonLogger(this.#clock);
    this.#metrics = options.metrics;
    if (options.handleSignals ?? true) {
      for (const signal of this.#signals) process.on(signal, this.#onSignal);
      this.#listening = true;
    }
  }

  /** True from the first moment of shutdown; give it to the readiness probe. */
  get shuttingDown(): boolean {
    return this.#running !== undefined;
  }

  /** Requests in progress across every added server. */
  get inFlight(): number {
    let total = 0;
    for (const tracker of this.#trackers) total += tracker.inFlight;
    return total;
  }

  /** Tracks `server` (node:http/https, or anything with a `.server` such as a Fastify instance) and closes it on shutdown. */
  addServer(server: HttpServer | { readonly server: HttpServer }): this {
    const target = isHttpServer(server) ? server : isHttpServer((server as { server?: unknown })?.server) ? server.server : undefined;
    if (target === undefined)
      throw new InvalidOptionError('server must be a node:http or node:https Server, or an object whose .server is one');
    if (this.#running) throw new NinesError('NINES_SHUTDOWN_STARTED', 'addServer: shutdown has already started');
    if (this.#trackers.some((t) => t.server === target)) return this;
    this.#trackers.push(new RequestTracker(target, this.#clock, this.#onRequestChange));
    return this;
  }

  /** Registers cleanup to run after the servers stopped; hooks run in reverse order of registration, each under its own timeout. */
  addHook(name: string, fn: ShutdownHookFn, options: HookOptions = {}): this {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError('name must be a non-empty string');
    if (typeof fn !== 'function') throw new InvalidOptionError(`fn must be a function, got ${typeof fn}`);
    const timeout = checkNumber('timeout', options.timeout ?? this.#hookTimeout);
    (options.atDrain === true ? this.#drainHooks : this.#hooks).push({ name, fn, timeout });
    return this;
  }

  /** Runs the shutdown sequence once and ends with `exit`; later calls return the same promise. */
  shutdown(reason = 'shutdown'): Promise<ShutdownReport> {
    this.#running ??= this.#run(reason);
    return this.#running;
  }

  /** Removes the signal handlers and stops counting new requests; requests in progress still count down. */
  dispose(): void {
    if (this.#listening) for (const signal of this.#signals) process.removeListener(signal, this.#onSignal);
    this.#listening = false;
    for (const tracker of this.#trackers) tracker.detach();
  }

  readonly #onSignal = (signal: NodeJS.Signals): void => {
    if (!this.#running) {
      void this.shutdown(signal);
      return;
    }
    // Whoever sends a second signal (an impatient operator, a supervisor) wants the process gone now.
    this.#logger.error({ signal, inFlight: this.inFlight }, 'second signal during shutdown: exiting now');
    for (const tracker of this.#trackers) tracker.destroyAll();
    this.#exitOnce(1);
  };

  readonly #onRequestChange = (delta: 1 | -1): void => {
    this.#metrics?.inFlight(delta);
  };

  async #run(reason: string): Promise<ShutdownReport> {
    const started = this.#clock.now();
    let report: ShutdownReport = { reason, forced: true, cutRequests: 0, hooks: [], durationMs: 0 };
    try {
      this.#metrics?.shuttingDown(true);
      for (const tracker of this.#trackers) tracker.drain();
      this.#logger.info(
        { reason, drainDelay: this.#drainDelay, timeout: this.#timeout, inFlight: this.inFlight },
        'shutdown started: draining',
      );
      const atDrain = Promise.all(this.#drainHooks.map((hook) => runHook(hook, this.#clock).then((r) => this.#logged(r))));
      await this.#sleep(this.#drainDelay);

      this.#logger.info({ inFlight: this.inFlight }, 'listeners closed: waiting for in-flight requests');
      const closed = await this.#within(Promise.all(this.#trackers.map((t) => t.close())), this.#timeout);
      if (!closed) report.cutRequests = this.#cut();

      report.hooks.push(...(await atDrain));
      for (const hook of [...this.#hooks].reverse()) report.hooks.push(this.#logged(await runHook(hook, this.#clock)));
      report.forced = report.cutRequests > 0 || report.hooks.some((h) => !h.ok);
    } catch (error) {
      // Only a throwing logger or metrics sink gets here; the process must still end.
      report = { ...report, forced: true };
      this.#logger.error({ error: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
    }
    report.durationMs = this.#clock.now() - started;
    this.#metrics?.shuttingDown(false);
    if (report.forced) this.#logger.warn({ ...report }, 'shutdown complete');
    else this.#logger.info({ ...report }, 'shutdown complete');
    this.#exitOnce(report.forced ? 1 : 0);
    return report;
  }

  #logged(result: HookResult): HookResult {
    if (result.ok) this.#logger.info({ hook: result.name, ms: result.ms }, 'shutdown hook done');
    else this.#logger.error({ hook: result.name, ms: result.ms, error: result.error }, 'shutdown hook failed');
    return result;
  }

  /** Destroys every remaining socket; returns how many requests were cut, after logging them. */
  #cut(): number {
    const now = this.#clock.now();
    const cut: InFlightRequest[] = this.#trackers.flatMap((t) => t.requests());
    this.#logger.warn(
      {
        timeout: this.#timeout,
        cutRequests: cut.length,
        cut: cut.slice(0, MAX_LOGGED_CUTS).map(({ method, url, startedAt }) => ({ method, url, ageMs: now - startedAt })),
      },
      'shutdown timeout: destroying connections with requests still in progress',
    );
    for (const tracker of this.#trackers) tracker.destroyAll();
    return cut.length;
  }

  #exitOnce(code: number): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#exit(code);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, ms));
  }

  /** True when `work` settles within `ms`, false when the time runs out first. */
  async #within(work: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: { clear(): void } | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([work.then(() => true as const), expired]);
    } finally {
      timer?.clear();
    }
  }
}

function isHttpServer(value: unknown): value is HttpServer {
  return typeof (value as HttpServer | undefined)?.closeIdleConnections === 'function' && typeof (value as HttpServer).close === 'function';
}
