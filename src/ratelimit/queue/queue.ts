import { abortReason } from '../../core/abort.js';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { InvalidOptionError } from '../../core/errors.js';
import { checkInteger, checkNumber, checkString } from '../../core/validate.js';
import { DeadlineList } from '../../policy/deadline-list.js';
import { QueueClosedError, QueueFullError, QueueTimeoutError } from './errors.js';
import { Heap } from './heap.js';
import type { BoundQueueMetrics, QueueMetrics, QueueOutcome } from './metrics-sink.js';
import { MAX_TIMER_MS, RateCap, type RateCapOptions } from './rate-cap.js';
import { DONE, type QueueTask, RUNNING, Task, WAITING } from './task.js';

/** Options of {@link QueueManager}. */
export interface QueueOptions {
  /** Tasks running at once. Default 1. */
  concurrency?: number;
  /** Tasks allowed to wait; one more is refused with `QueueFullError`. Default: no limit. */
  maxQueue?: number;
  /** ms a task may wait before it starts; then it leaves with `QueueTimeoutError` (`NINES_QUEUE_WAIT_TIMEOUT`). Default: no limit. */
  waitTimeout?: number;
  /** ms a task may run; then its signal aborts and its promise rejects with `QueueTimeoutError` (`NINES_QUEUE_RUN_TIMEOUT`). Default: no limit. */
  runTimeout?: number;
  /** At most `limit` task starts in any `interval` ms (a sliding window). Default: no cap. */
  rateCap?: RateCapOptions;
  /** Start paused: tasks wait until `resume()`. Default false. */
  paused?: boolean;
  /** Source of time for timeouts, the rate cap and metrics. Default {@link systemClock}. */
  clock?: Clock;
  /** Reports depth, running tasks, wait and run times and outcomes; see `queueMetrics` in `nines/metrics`. */
  metrics?: QueueMetrics;
  /** Metrics label. Default `'default'`. */
  name?: string;
}

/** Options of {@link QueueManager.add}. */
export interface TaskOptions {
  /** Higher runs first; equal priorities run in the order they were added. Default 0. */
  priority?: number;
  /** Aborting it takes a waiting task out at once, or aborts a running one; the promise rejects with its reason. */
  signal?: AbortSignal;
}

interface SignalGroup {
  readonly tasks: Set<Task>;
  readonly listener: () => void;
}

const noop = () => undefined;

/**
 * A priority queue of tasks run by `concurrency` workers, with wait and run timeouts, a maximum
 * size, pause/resume, an optional rate cap, and metrics. A task whose signal aborts leaves at once.
 * A task's error reaches only its caller's promise, which never becomes an unhandled rejection.
 */
export class QueueManager {
  /** Tasks running at once. */
  readonly concurrency: number;
  /** Tasks allowed to wait. */
  readonly maxQueue: number;
  readonly #clock: Clock;
  readonly #heap = new Heap<Task>();
  readonly #waitTimeout: number;
  readonly #runTimeout: number;
  readonly #waitDeadlines: DeadlineList | undefined;
  readonly #runDeadlines: DeadlineList | undefined;
  readonly #rate: RateCap | undefined;
  readonly #metrics: BoundQueueMetrics | undefined;
  /** One abort listener per signal, not per task: Node's EventTarget scans its listeners on each add. */
  readonly #signals = new Map<AbortSignal, SignalGroup>();
  readonly #onExpire = (task: Task) => this.#expire(task);
  #rateTimer: TimerHandle | undefined;
  #running = 0;
  #seq = 0;
  #paused: boolean;
  #closed = false;
  #pumping = false;
  #idle: PromiseWithResolvers<void> | undefined;

  /** Validates `options`; see {@link QueueOptions}. */
  constructor(options: QueueOptions = {}) {
    this.concurrency = checkInteger('concurrency', options.concurrency ?? 1, 1);
    this.maxQueue = checkInteger('maxQueue', options.maxQueue ?? Number.POSITIVE_INFINITY, 0);
    this.#clock = options.clock ?? systemClock;
    this.#waitTimeout = timeoutOption('waitTimeout', options.waitTimeout);
    this.#runTimeout = timeoutOption('runTimeout', options.runTimeout);
    if (this.#waitTimeout > 0) this.#waitDeadlines = new DeadlineList(this.#clock);
    if (this.#runTimeout > 0) this.#runDeadlines = new DeadlineList(this.#clock);
    if (options.rateCap !== undefined) this.#rate = new RateCap(options.rateCap);
    this.#paused = options.paused === true;
    if (options.metrics !== undefined) {
      this.#metrics = options.metrics.queue(checkString('name', options.name ?? 'default'));
      this.#metrics.depth(0);
      this.#metrics.running(0);
    }
  }

  /** Tasks waiting to start. */
  get size(): number {
    return this.#heap.size;
  }

  /** Tasks running now; a task past its `runTimeout` counts until its function returns. */
  get running(): number {
    return this.#running;
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Runs `fn` when a worker is free (at once if one is), highest priority first; settles with what
   * `fn` returns or throws. Rejects with `QueueFullError`, `QueueClosedError`, `QueueTimeoutError`,
   * or the reason of `options.signal`.
   */
  add<T>(fn: QueueTask<T>, options?: TaskOptions): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidOptionError(`fn must be a function, got ${typeof fn}`);
    let priority = 0;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      if (options.priority !== undefined) priority = checkNumber('priority', options.priority, Number.NEGATIVE_INFINITY);
      signal = options.signal;
    }
    if (this.#closed) return this.#refuse(new QueueClosedError(), 'rejected');
    if (signal?.aborted) return this.#refuse(abortReason(signal), 'aborted');
    const startNow = this.#heap.size === 0 && !this.#paused && this.#running < this.concurrency && this.#rateAllows();
    if (!startNow && this.#heap.size >= this.maxQueue) return this.#refuse(new QueueFullError(this.maxQueue), 'rejected');
    const task = new Task<T>(fn, priority, this.#seq++, signal, this.#runDeadlines !== undefined, this.#onExpire);
    if (signal !== undefined) this.#listen(task as Task, signal);
    if (this.#metrics !== undefined) task.enqueuedAt = this.#clock.now();
    if (startNow) {
      this.#start(task as Task);
    } else {
      this.#heap.push(task as Task);
      this.#waitDeadlines?.add(task, this.#waitTimeout);
      this.#metrics?.depth(this.#heap.size);
      if (!this.#paused && this.#running < this.concurrency) this.#pump(); // held by the rate cap: arm its timer
    }
    return task.promise;
  }

  /** Stops starting tasks; running ones go on. Waiting tasks still time out and abort. */
  pause(): void {
    this.#paused = true;
  }

  /** Starts tasks again after {@link QueueManager.pause}. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#pump();
  }

  /** Resolves when no task waits or runs (at once if none does); tasks added later do not matter to it. Never rejects. */
  onIdle(): Promise<void> {
    if (this.#heap.size === 0 && this.#running === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  /**
   * Takes no new task from now on (`add` rejects with `QueueClosedError`) and resolves when every
   * task already added has settled; for shutdown. A paused queue drains only once resumed.
   */
  drain(): Promise<void> {
    this.#closed = true;
    return this.onIdle();
  }

  #rateAllows(): boolean {
    return this.#rate === undefined || this.#rate.delay(this.#clock.now()) === 0;
  }

  #refuse<T>(error: unknown, outcome: QueueOutcome): Promise<T> {
    this.#metrics?.outcome(outcome);
    const refused = Promise.reject(error);
    refused.catch(noop); // the caller's to handle; ignored, it must not crash the process
    return refused;
  }

  #start(task: Task): void {
    task.state = RUNNING;
    this.#running++;
    if (this.#rate !== undefined || this.#metrics !== undefined) {
      const now = this.#clock.now();
      this.#rate?.record(now);
      if (this.#metrics !== undefined) {
        task.startedAt = now;
        this.#metrics.waited(now - task.enqueuedAt);
        this.#metrics.running(this.#running);
      }
    }
    this.#runDeadlines?.add(task, this.#runTimeout);
    void this.#execute(task);
  }

  /** Runs the task's function; catches everything, so the promise it returns never rejects. */
  async #execute(task: Task): Promise<void> {
    let ok = true;
    let result: unknown;
    const fn = task.fn; // called unbound: the task object is not the function's `this`
    try {
      result = await fn(task);
    } catch (error) {
      ok = false;
      result = error;
    }
    this.#finish(task, ok, result);
  }

  #finish(task: Task, ok: boolean, result: unknown): void {
    task.state = DONE;
    this.#running--;
    this.#runDeadlines?.remove(task);
    this.#unlisten(task);
    if (this.#metrics !== undefined) {
      this.#metrics.ran(this.#clock.now() - task.startedAt);
      this.#metrics.running(this.#running);
    }
    if (!task.settled) {
      if (ok) {
        task.settled = true;
        task.resolve(result);
        this.#metrics?.outcome('completed');
      } else {
        this.#reject(task, result, 'failed');
      }
    }
    if (this.#heap.size > 0) this.#pump();
    else this.#checkIdle();
  }

  #reject(task: Task, error: unknown, outcome: QueueOutcome): void {
    task.settled = true;
    task.promise.catch(noop); // handled here so an ignored task error never crashes the process
    task.reject(error);
    this.#metrics?.outcome(outcome);
  }

  /** Starts waiting tasks while workers, the pause and the rate cap allow. */
  #pump(): void {
    if (this.#pumping) return; // a task started synchronously added or finished another: the loop below goes on
    this.#pumping = true;
    try {
      while (!this.#paused && this.#running < this.concurrency && this.#heap.size > 0) {
        if (this.#rate !== undefined) {
          const delay = this.#rate.delay(this.#clock.now());
          if (delay > 0) {
            this.#rateTimer ??= this.#clock.setTimeout(() => {
              this.#rateTimer = undefined;
              this.#pump();
            }, delay);
            break;
          }
        }
        const task = this.#heap.pop() as Task;
        this.#waitDeadlines?.remove(task);
        this.#metrics?.depth(this.#heap.size);
        this.#start(task);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** A waiting task leaves without running. */
  #leave(task: Task): void {
    task.state = DONE;
    this.#heap.remove(task);
    this.#waitDeadlines?.remove(task);
    this.#unlisten(task);
    this.#metrics?.depth(this.#heap.size);
    if (this.#heap.size === 0 && this.#rateTimer !== undefined) {
      this.#rateTimer.clear();
      this.#rateTimer = undefined;
    }
  }

  #expire(task: Task): void {
    if (task.state === WAITING) {
      this.#leave(task);
      this.#reject(task, new QueueTimeoutError('wait', this.#waitTimeout), 'wait_timeout');
      this.#checkIdle();
    } else if (task.state === RUNNING && !task.settled) {
      const error = new QueueTimeoutError('run', this.#runTimeout);
      task.abortRun(error);
      this.#reject(task, error, 'run_timeout');
    }
  }

  #abort(task: Task, signal: AbortSignal): void {
    const reason = abortReason(signal);
    if (task.state === WAITING) {
      this.#leave(task);
      this.#reject(task, reason, 'aborted');
      this.#checkIdle();
    } else if (task.state === RUNNING && !task.settled) {
      task.abortRun(reason);
      this.#reject(task, reason, 'aborted');
    }
  }

  #listen(task: Task, signal: AbortSignal): void {
    let group = this.#signals.get(signal);
    if (group === undefined) {
      const tasks = new Set<Task>();
      const listener = () => {
        this.#signals.delete(signal);
        for (const t of tasks) this.#abort(t, signal);
      };
      group = { tasks, listener };
      this.#signals.set(signal, group);
      signal.addEventListener('abort', listener, { once: true });
    }
    group.tasks.add(task);
  }

  #unlisten(task: Task): void {
    const signal = task.userSignal;
    if (signal === undefined) return;
    const group = this.#signals.get(signal);
    if (group === undefined) return; // the signal aborted: its group is gone
    group.tasks.delete(task);
    if (group.tasks.size === 0) {
      this.#signals.delete(signal);
      signal.removeEventListener('abort', group.listener);
    }
  }

  #checkIdle(): void {
    if (this.#idle === undefined || this.#heap.size > 0 || this.#running > 0) return;
    const idle = this.#idle;
    this.#idle = undefined;
    idle.resolve();
  }
}

function timeoutOption(name: string, value: number | undefined): number {
  return value === undefined ? 0 : checkNumber(name, value, 1, MAX_TIMER_MS);
}
