import { NinesError } from '../../core/errors.js';

/** Thrown by `QueueManager.add` when `maxQueue` tasks already wait; the task was not queued. */
export class QueueFullError extends NinesError {
  constructor(
    /** The queue's `maxQueue`. */
    readonly maxQueue: number,
  ) {
    super('NINES_QUEUE_FULL', `queue is full (${maxQueue} waiting)`);
  }
}

/** Thrown by `QueueManager.add` after `drain()`: the queue takes no new task. */
export class QueueClosedError extends NinesError {
  constructor() {
    super('NINES_QUEUE_CLOSED', 'queue is draining and takes no new task');
  }
}

/**
 * A task outlived `waitTimeout` before it started (`NINES_QUEUE_WAIT_TIMEOUT`: it never ran, so a
 * retry is safe) or `runTimeout` while it ran (`NINES_QUEUE_RUN_TIMEOUT`: its signal was aborted,
 * and it may have done part of its work).
 */
export class QueueTimeoutError extends NinesError {
  constructor(
    /** Which limit was exceeded. */
    readonly phase: 'wait' | 'run',
    /** The limit, in ms. */
    readonly timeoutMs: number,
  ) {
    super(
      phase === 'wait' ? 'NINES_QUEUE_WAIT_TIMEOUT' : 'NINES_QUEUE_RUN_TIMEOUT',
      phase === 'wait' ? `task waited in the queue longer than ${timeoutMs} ms` : `task ran longer than ${timeoutMs} ms`,
    );
  }
}
