import { performance } from 'node:perf_hooks';
import { EventLoopLag } from '../../health/event-loop-lag.js';

/** What a {@link LoadShedder} reads of the event loop; {@link eventLoopReading} is the real one, tests pass their own. */
export interface LoopReading {
  /** How long (ms) the event loop has been blocked right now; 0 when it is responsive. */
  readonly delayMs: number;
  /** Time (ms) the loop has spent idle, waiting for I/O, since a fixed start; only its growth is read. */
  readonly idleMs: number;
}

/** The real {@link LoopReading}, with `close()` to stop its timer. */
export interface EventLoopReading extends LoopReading {
  /** Stops the sampling timer. */
  close(): void;
}

/**
 * Reads this process's event loop: the delay from an {@link EventLoopLag} sampling every
 * `resolutionMs` (unref'd), the idle time from `performance.eventLoopUtilization()` (libuv's time in
 * the poll phase waiting for I/O, which a loop with a standing backlog never spends).
 */
export function eventLoopReading(resolutionMs = 10): EventLoopReading {
  const lag = new EventLoopLag(resolutionMs);
  lag.start();
  return {
    get delayMs() {
      return lag.currentMs;
    },
    get idleMs() {
      return performance.eventLoopUtilization().idle;
    },
    close: () => lag.stop(),
  };
}
