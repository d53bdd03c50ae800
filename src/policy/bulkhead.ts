import { abortReason } from '../core/abort.js';
import { type Clock, systemClock } from '../core/clock.js';
import { NinesError } from '../core/errors.js';
import { checkInteger, checkNumber } from '../core/validate.js';
import { Deadline, DeadlineList } from './deadline-list.js';
import { BasePolicy, type ExecuteContext, neverAbortedSignal, type PolicyFn } from './policy.js';

/** Thrown when a bulkhead has no free slot and no queue room, or a queued call waited too long. */
export class BulkheadRejectedError extends NinesError {
  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    reason: 'full' | 'queue-timeout' = 'full',
  ) {
    super(
      reason === 'full' ? 'NINES_BULKHEAD_FULL' : 'NINES_BULKHEAD_QUEUE_TIMEOUT',
      reason === 'full'
        ? `bulkhead is full (${maxConcurrent} running, ${maxQueue} queued)`
        : 'call waited in the bulkhead queue longer than queueTimeout',
    );
  }
}

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot, served in arrival order. Default 0. */
  maxQueue?: number;
  /** ms a call may wait in the queue before it is rejected. Default: no limit. */
  queueTimeout?: number;
  /** Source of time. Default {@link systemClock}. */
  clock?: Clock;
}

class Waiter extends Deadline {
  constructor(
    readonly grant: () => void,
    readonly fail: (error: unknown) => void,
  ) {
    super();
  }

  expire(): void {
    this.fail(undefined);
  }
}

/** Limits concurrency so one slow dependency cannot take every connection or worker; see {@link bulkhead}. */
export class BulkheadPolicy extends BasePolicy {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly #queueTimeout: number | undefined;
  readonly #deadlines: DeadlineList | undefined;
  readonly #queue = new Set<Waiter>();
  #active = 0;

  /** Validates `options`; see {@link BulkheadOptions}. */
  constructor(options: BulkheadOptions) {
    super();
    this.maxConcurrent = checkInteger('maxConcurrent', options?.maxConcurrent, 1);
    this.maxQueue = checkInteger('maxQueue', options.maxQueue ?? 0, 0);
    if (options.queueTimeout !== undefined) {
      this.#queueTimeout = checkNumber('queueTimeout', options.queueTimeout);
      this.#deadlines = new DeadlineList(options.clock ?? systemClock);
    }
  }

  /** Calls running now. */
  get active(): number {
    return this.#active;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.#queue.size;
  }

  /** Runs `fn` in an existing context (used by `compose` to pass `signal` and `attempt` through). */
  async run<T>(fn: PolicyFn<T>, context: ExecuteContext): Promise<T> {
    if (this.#active < this.maxConcurrent) this.#active++;
    else await this.#wait(context.signal);
    try {
      return await fn(context);
    } finally {
      this.#release();
    }
  }

  #wait(signal: AbortSignal): Promise<void> {
    if (this.#queue.size >= this.maxQueue) return Promise.reject(new BulkheadRejectedError(this.maxConcurrent, this.maxQueue));
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const leave = () => {
        this.#queue.delete(waiter);
        this.#deadlines?.remove(waiter);
        if (signal !== neverAbortedSignal) signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        reject(abortReason(signal));
      };
      const waiter = new Waiter(
        () => {
          leave();
          resolve();
        },
        () => {
          leave();
          reject(new BulkheadRejectedError(this.maxConcurrent, this.maxQueue, 'queue-timeout'));
        },
      );
      this.#queue.add(waiter);
      if (this.#deadlines !== undefined && this.#queueTimeout !== undefined) this.#deadlines.add(waiter, this.#queueTimeout);
      if (signal !== neverAbortedSignal) signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #release(): void {
    const next = this.#queue.values().next();
    if (next.done) this.#active--;
    else next.value.grant(); // the slot passes straight to the oldest waiter
  }
}

/** A bulkhead of `maxConcurrent` slots and an optional queue. */
export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new BulkheadPolicy(options);
}
