import { type Clock, systemClock } from '../../core/clock.js';
import { InvalidOptionError } from '../../core/errors.js';
import { checkFunction, checkInteger, checkNumber, checkString } from '../../core/validate.js';
import { LoadShedError } from './errors.js';
import { eventLoopReading, type LoopReading } from './loop-reading.js';
import type { LoadShedMetrics, ShedderMetrics } from './metrics-sink.js';
import { DEFAULT_LEVELS, PRIORITIES, type Priority, SHED_REASONS, type ShedReason } from './priority.js';

/** Options of {@link LoadShedder}; every limit is that of `normal` work, scaled per priority by `levels`. */
export interface LoadShedderOptions {
  /** Name in metrics. Default `default`. */
  name?: string;
  /** Event-loop delay (ms) that `normal` work may meet once the loop is overloaded (CoDel's target). Default 20. */
  targetDelay?: number;
  /** How long (ms) the loop must stay busy before it counts as overloaded, and free before it no longer does; also the delay `normal` work may meet before that (CoDel's interval). Default 100. */
  interval?: number;
  /** Length (ms) of the windows in which the loop is seen busy or free; also the default reading's resolution. Default 10. */
  sampleInterval?: number;
  /** Where the event loop is read. Default: this process's ({@link eventLoopReading}), stopped by {@link LoadShedder.close}. */
  loop?: LoopReading;
  /** Most `normal` work in flight at once. Default no limit. */
  maxInFlight?: number;
  /** Reads the work in flight, e.g. `() => tracker.inFlight`. Default: what this shedder admitted and was not released. */
  inFlight?: () => number;
  /** Reads the depth of a queue in front of the work (a `QueueManager`'s size, say). Default none. */
  queueDepth?: () => number;
  /** Queue depth at which `normal` work is shed. Default no limit. */
  maxQueueDepth?: number;
  /** Multiple of the limits each priority may use. Default `{ critical: Infinity, high: 2, normal: 1, low: 0.5 }`. */
  levels?: Partial<Record<Priority, number>>;
  /** What a shed caller is told to wait (ms), as `retryAfterMs` and the `Retry-After` header. Default 1000. */
  retryAfter?: number;
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
  /** Metrics sink (`loadShedMetrics(registry)` from `nines/metrics`). Default none. */
  metrics?: LoadShedMetrics;
}

/** An admitted piece of work: call `release()` once it is done (calling it again is harmless). */
export interface Admitted {
  readonly admitted: true;
  /** Ends the work's share of the in-flight count. */
  release(): void;
}

/** Shed work: do not run it; tell the caller to come back after `retryAfterMs`. */
export interface Shed {
  readonly admitted: false;
  readonly priority: Priority;
  readonly reason: ShedReason;
  readonly retryAfterMs: number;
}

/** What {@link LoadShedder.admit} decides. */
export type Admission = Admitted | Shed;

/** A loop that waited this long (ms) for I/O within a window had drained its backlog: that window was free. */
const FREE_IDLE_MS = 1;

class Ticket implements Admitted {
  readonly admitted = true;
  readonly #onRelease: () => void;
  #released = false;

  constructor(onRelease: () => void) {
    this.#onRelease = onRelease;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease();
  }
}

/**
 * Sheds lower-priority work first when the process is overloaded, so admitted work keeps a bounded
 * latency. The event-loop controller follows CoDel (Nichols & Jacobson, RFC 8289) as Facebook applies
 * it to server queues (Maurer, "Fail at Scale", ACM Queue 2015): while the loop has drained its
 * backlog within the last `interval`, `normal` work may meet a delay up to `interval` (bursts pass);
 * once it has stayed busy for a whole `interval`, only up to `targetDelay` (a standing queue is cut
 * short), until it has been free for a whole `interval` again (hysteresis both ways). In-flight work
 * and a queue's depth are capped as well. Each priority may go to its `levels` multiple of each limit.
 */
export class LoadShedder {
  /** Name in metrics. */
  readonly name: string;
  /** What a shed caller is told to wait (ms). */
  readonly retryAfterMs: number;
  readonly #clock: Clock;
  readonly #loop: LoopReading;
  readonly #ownLoop: (() => void) | undefined;
  readonly #target: number;
  readonly #interval: number;
  readonly #sampleInterval: number;
  readonly #maxInFlight: number;
  readonly #readInFlight: (() => number) | undefined;
  readonly #queueDepth: (() => number) | undefined;
  readonly #maxQueueDepth: number;
  readonly #levels: Readonly<Record<Priority, number>>;
  readonly #metrics: ShedderMetrics | undefined;
  readonly #shed: Readonly<Record<Priority, Readonly<Record<ShedReason, Shed>>>>;
  readonly #release = () => {
    this.#admitted--;
  };
  #admitted = 0;
  #overloaded = false;
  #windowEnd: number;
  #windowIdle: number;
  #lastFreeAt: number;
  #lastBusyAt: number;

  /** Validates `options`; see {@link LoadShedderOptions}. */
  constructor(options: LoadShedderOptions = {}) {
    this.name = checkString('name', options.name ?? 'default');
    this.#target = checkNumber('targetDelay', options.targetDelay ?? 20, 0);
    this.#interval = checkNumber('interval', options.interval ?? 100, 1);
    this.#sampleInterval = checkInteger('sampleInterval', options.sampleInterval ?? 10, 1);
    if (this.#sampleInterval > this.#interval)
      throw new InvalidOptionError(`sampleInterval must not exceed interval (${this.#interval}), got ${this.#sampleInterval}`);
    this.#maxInFlight = checkNumber('maxInFlight', options.maxInFlight ?? Number.POSITIVE_INFINITY, 1);
    checkFunction('inFlight', options.inFlight);
    checkFunction('queueDepth', options.queueDepth);
    this.#readInFlight = options.inFlight;
    this.#queueDepth = options.queueDepth;
    this.#maxQueueDepth = checkNumber('maxQueueDepth', options.maxQueueDepth ?? Number.POSITIVE_INFINITY, 0);
    this.#levels = checkLevels(options.levels);
    this.retryAfterMs = checkNumber('retryAfter', options.retryAfter ?? 1000, 0);
    this.#clock = options.clock ?? systemClock;
    if (options.loop === undefined) {
      const own = eventLoopReading(this.#sampleInterval);
      this.#loop = own;
      this.#ownLoop = own.close;
    } else {
      this.#loop = options.loop;
    }
    this.#metrics = options.metrics?.shedder(this.name);
    this.#shed = prebuiltSheds(this.retryAfterMs);
    const now = this.#clock.now();
    this.#windowEnd = now + this.#sampleInterval;
    this.#windowIdle = this.#loop.idleMs;
    this.#lastFreeAt = now;
    this.#lastBusyAt = now;
    this.#metrics?.state(false, this.#interval);
  }

  /** Admits or sheds one piece of work of `priority` (default `normal`); release an admitted one when it is done. */
  admit(priority: Priority = 'normal'): Admission {
    const reason = this.#check(priority);
    this.#metrics?.decision(priority, reason);
    if (reason !== undefined) return this.#shed[priority][reason];
    this.#admitted++;
    return new Ticket(this.#release);
  }

  /** True when work of `priority` (default `normal`) would be shed now; counts nothing. */
  isOverloaded(priority: Priority = 'normal'): boolean {
    return this.#check(priority) !== undefined;
  }

  /** Runs `fn` if work of `priority` is admitted; otherwise rejects with a {@link LoadShedError} without calling it. */
  async run<T>(fn: () => T | Promise<T>, priority: Priority = 'normal'): Promise<T> {
    const admission = this.admit(priority);
    if (!admission.admitted) throw new LoadShedError(admission.priority, admission.reason, admission.retryAfterMs);
    try {
      return await fn();
    } finally {
      admission.release();
    }
  }

  /** Work in flight, as the in-flight limit counts it. */
  get inFlight(): number {
    return this.#readInFlight === undefined ? this.#admitted : this.#readInFlight();
  }

  /** True while the loop counts as overloaded (it has not been free for a whole `interval`). */
  get overloaded(): boolean {
    this.#observe();
    return this.#overloaded;
  }

  /** The event-loop delay (ms) `normal` work may meet now: `interval`, or `targetDelay` while overloaded. */
  get delayLimitMs(): number {
    return this.overloaded ? this.#target : this.#interval;
  }

  /** Stops the default event-loop reading; a `loop` passed in is the caller's to stop. */
  close(): void {
    this.#ownLoop?.();
  }

  #check(priority: Priority): ShedReason | undefined {
    this.#observe();
    const level = this.#levels[priority];
    if (level === Number.POSITIVE_INFINITY) return undefined;
    if (this.inFlight >= this.#maxInFlight * level) return 'in_flight';
    if (this.#queueDepth !== undefined && this.#queueDepth() >= this.#maxQueueDepth * level) return 'queue_depth';
    if (this.#loop.delayMs > (this.#overloaded ? this.#target : this.#interval) * level) return 'event_loop_delay';
    return undefined;
  }

  // Closes the sampling window once it is over (lazily, at the next decision: no timer of its own) and
  // moves the controller: overloaded after a whole interval without a free window, back after a whole
  // interval without a busy one.
  #observe(): void {
    const now = this.#clock.now();
    if (now < this.#windowEnd) return;
    const idle = this.#loop.idleMs;
    if (idle - this.#windowIdle >= FREE_IDLE_MS) this.#lastFreeAt = now;
    else this.#lastBusyAt = now;
    this.#windowIdle = idle;
    this.#windowEnd = now + this.#sampleInterval;
    const overloaded = this.#overloaded ? now - this.#lastBusyAt < this.#interval : now - this.#lastFreeAt >= this.#interval;
    if (overloaded === this.#overloaded) return;
    this.#overloaded = overloaded;
    this.#metrics?.state(overloaded, overloaded ? this.#target : this.#interval);
  }
}

function checkLevels(levels: Partial<Record<Priority, number>> | undefined): Readonly<Record<Priority, number>> {
  const merged = { ...DEFAULT_LEVELS, ...levels };
  let previous = Number.POSITIVE_INFINITY;
  for (const p of PRIORITIES) {
    const value = checkNumber(`levels.${p}`, merged[p], Number.MIN_VALUE);
    if (value > previous)
      throw new InvalidOptionError(`levels.${p} must not exceed the level of a higher priority (${previous}), got ${value}`);
    previous = value;
  }
  return Object.freeze(merged);
}

/** One frozen answer per priority and reason, so shedding allocates nothing. */
function prebuiltSheds(retryAfterMs: number): Record<Priority, Record<ShedReason, Shed>> {
  const byPriority = (priority: Priority) =>
    Object.fromEntries(SHED_REASONS.map((reason) => [reason, Object.freeze({ admitted: false as const, priority, reason, retryAfterMs })]));
  return Object.fromEntries(PRIORITIES.map((p) => [p, byPriority(p)])) as Record<Priority, Record<ShedReason, Shed>>;
}
