import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { EventLoopLag } from '../health/event-loop-lag.js';
import { processProblems } from '../health/liveness.js';
import type { Monitor } from '../monitor/monitor.js';

/** `server.liveness` as the server reads it (ms and a ratio; defaults 5000 ms and 0.98, exit off). */
export interface ServedLiveness {
  /** Longest event-loop block (ms) tolerated between two evaluations. */
  maxEventLoopDelay?: number;
  /** Heap used / heap limit past which the process counts as stuck. */
  maxHeapRatio?: number;
  /** ms of failing liveness after which `nines serve` exits; 0 or absent: never. */
  exitAfter?: number;
}

/**
 * How often the event loop is sampled for `liveness`: a twentieth of the longest block tolerated
 * (250 ms for the default 5 s), between 20 and 250 ms. Each wake-up of an idle process costs about
 * 0.15 ms of CPU, so 20 ms sampling alone was half of an idle `nines serve`'s CPU.
 */
export function lagResolution(liveness: ServedLiveness | undefined): number {
  return Math.min(250, Math.max(20, Math.floor((liveness?.maxEventLoopDelay ?? 5000) / 20)));
}

/** Longest pause between two evaluations of the watchdog. */
const MAX_EVERY_MS = 10_000;

/**
 * Why `nines serve` is not alive: the process limits (starting a new window of `loop`) and every
 * component of `monitor` with no result for three intervals. `/liveness` and the watchdog both ask this.
 */
export function servedLivenessProblems(
  loop: EventLoopLag,
  liveness: ServedLiveness | undefined,
  monitor: Pick<Monitor, 'overdue'>,
): string[] {
  const problems = processProblems(loop, {
    maxDelayMs: liveness?.maxEventLoopDelay ?? 5000,
    maxHeapRatio: liveness?.maxHeapRatio ?? 0.98,
  });
  for (const name of monitor.overdue()) problems.push(`${name} has had no result for three intervals (schedule stuck)`);
  return problems;
}

/** Options of {@link LivenessWatchdog}. */
export interface LivenessWatchdogOptions {
  /** ms liveness must have failed at every evaluation before `onFailed`; 0 turns the watchdog off. */
  exitAfter: number;
  /** The liveness problems now; empty when alive. */
  problems: () => string[];
  /** Called once, with the last problems, when liveness has failed for `exitAfter`. */
  onFailed: (problems: string[]) => void;
  /** ms between evaluations. Default min(exitAfter / 3, 10 s). */
  every?: number;
  /** Source of time and timers. Default `systemClock`. */
  clock?: Clock;
}

/**
 * Evaluates liveness on a timer and calls `onFailed` once when it has failed at every evaluation for
 * at least `exitAfter`; one passing evaluation starts the count again. A supervisor restarts a process
 * that exits, not one that answers 503 (Compose's `restart`, systemd's `Restart=`).
 */
export class LivenessWatchdog {
  readonly #options: LivenessWatchdogOptions;
  readonly #clock: Clock;
  readonly #every: number;
  #timer: TimerHandle | undefined;
  #failingSince: number | undefined;
  #fired = false;

  /** Does nothing until {@link start}. */
  constructor(options: LivenessWatchdogOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#every = options.every ?? Math.min(options.exitAfter / 3, MAX_EVERY_MS);
  }

  /** True when the watchdog evaluates at all (`exitAfter` > 0). */
  get enabled(): boolean {
    return this.#options.exitAfter > 0;
  }

  /** True once `onFailed` has been called. */
  get fired(): boolean {
    return this.#fired;
  }

  /** Starts evaluating every `every` ms; the timer never keeps the process alive. No-op when off. */
  start(): void {
    if (!this.enabled || this.#fired || this.#timer !== undefined) return;
    this.#schedule();
  }

  /** Stops evaluating and forgets the failing streak. */
  stop(): void {
    this.#timer?.clear();
    this.#timer = undefined;
    this.#failingSince = undefined;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#evaluate();
      if (!this.#fired) this.#schedule();
    }, this.#every);
    this.#timer.unref();
  }

  #evaluate(): void {
    const problems = this.#options.problems();
    const now = this.#clock.now();
    if (problems.length === 0) {
      this.#failingSince = undefined;
      return;
    }
    this.#failingSince ??= now;
    if (now - this.#failingSince < this.#options.exitAfter) return;
    this.#fired = true;
    this.#options.onFailed(problems);
  }
}

/** The watchdog of `nines serve`: {@link servedLivenessProblems} on an EventLoopLag of its own, so it does not reset the one `/liveness` reads. */
export function servedLivenessWatchdog(options: {
  liveness: ServedLiveness;
  monitor: Pick<Monitor, 'overdue'>;
  onFailed: (problems: string[]) => void;
  clock?: Clock;
}): { start(): void; stop(): void } {
  const loop = new EventLoopLag(lagResolution(options.liveness));
  let sampling = false;
  const stopSampling = () => {
    if (sampling) loop.stop();
    sampling = false;
  };
  const watchdog = new LivenessWatchdog({
    exitAfter: options.liveness.exitAfter ?? 0,
    problems: () => servedLivenessProblems(loop, options.liveness, options.monitor),
    onFailed: (problems) => {
      stopSampling();
      options.onFailed(problems);
    },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  return {
    start: () => {
      if (!watchdog.enabled || watchdog.fired || sampling) return;
      sampling = true;
      loop.start();
      watchdog.start();
    },
    stop: () => {
      watchdog.stop();
      stopSampling();
    },
  };
}
