import { Deadline } from '../../policy/deadline-list.js';
import { neverAbortedSignal } from '../../policy/policy.js';
import type { HeapItem } from './heap.js';

/** What a queued function receives. */
export interface TaskContext {
  /** Aborted when the caller's signal aborts or `runTimeout` passes; pass it on to I/O. */
  readonly signal: AbortSignal;
}

/** A function the queue runs; it may be sync or async. */
export type QueueTask<T> = (context: TaskContext) => T | PromiseLike<T>;

/** @internal */ export const WAITING = 0;
/** @internal */ export const RUNNING = 1;
/** @internal */ export const DONE = 2;

/**
 * One task: its heap node, its deadline (waiting, then running: one list at a time), its promise
 * and the context its function gets, in one object. The AbortController is made only if the
 * function reads `signal` and the queue has a `runTimeout`, as the timeout policy does.
 * @internal
 */
export class Task<T = unknown> extends Deadline implements HeapItem, TaskContext {
  heapIndex = -1;
  state = WAITING;
  /** The caller's promise has settled (a timed-out task still holds its slot until `fn` returns). */
  settled = false;
  enqueuedAt = 0;
  startedAt = 0;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  readonly promise: Promise<T>;
  #controller: AbortController | undefined;
  #runAborted = false;
  #runAbortReason: unknown;

  constructor(
    readonly fn: QueueTask<T>,
    readonly priority: number,
    readonly seq: number,
    readonly userSignal: AbortSignal | undefined,
    /** The queue has a runTimeout, so the signal must be one the queue can abort. */
    readonly ownSignal: boolean,
    readonly onExpire: (task: Task) => void,
  ) {
    super();
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      if (!this.ownSignal) return this.userSignal ?? neverAbortedSignal;
      this.#controller = new AbortController();
      if (this.#runAborted) this.#controller.abort(this.#runAbortReason);
    }
    return this.#controller.signal;
  }

  /** Aborts the running function's signal with `reason`; a signal read later is born aborted. */
  abortRun(reason: unknown): void {
    this.#runAborted = true;
    this.#runAbortReason = reason;
    this.#controller?.abort(reason);
  }

  expire(): void {
    this.onExpire(this as Task);
  }
}
