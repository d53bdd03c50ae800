import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { sleep } from '../../core/abort.js';
import { systemClock } from '../../core/clock.js';
import { checkNumber } from '../../core/validate.js';
import type { HealthCheck } from '../types.js';

/** Options of {@link eventLoop}. */
export interface EventLoopOptions {
  /** Unhealthy when the 99th percentile lag since the previous run is above this (ms); degraded when only the maximum is. Default 200. */
  maxLagMs?: number;
}

/** ms between the histogram's samples. */
const RESOLUTION = 10;
/** How long the first run samples before it answers. */
const FIRST_WINDOW = 5 * RESOLUTION;

/**
 * Event-loop lag since the previous run, from one `monitorEventLoopDelay` histogram per check
 * (enabled at the first run, whose answer waits 50 ms for samples; its timer never keeps the process
 * alive). Lag is a sample's delay beyond the 10 ms resolution. Details: `p50Ms`, `p99Ms`, `maxMs`, `samples`.
 */
export function eventLoop(options: EventLoopOptions = {}): HealthCheck {
  const maxLagMs = checkNumber('maxLagMs', options.maxLagMs ?? 200);
  let histogram: ELDHistogram | undefined;
  let gap: { lag: number } = { lag: 0 };

  // After enable() or reset() the histogram drops its first interval (it has no previous tick to
  // measure from), so a block starting right then would go unseen: a one-shot timer covers it.
  const restart = (h: ELDHistogram) => {
    h.reset();
    const window = { lag: 0 };
    const start = performance.now();
    setTimeout(() => {
      window.lag = Math.max(0, performance.now() - start - RESOLUTION);
    }, RESOLUTION).unref();
    gap = window;
  };

  return async ({ signal }) => {
    if (histogram === undefined) {
      histogram = monitorEventLoopDelay({ resolution: RESOLUTION });
      histogram.enable();
      restart(histogram);
      await sleep(FIRST_WINDOW, signal, systemClock);
    }
    const lag = (nanoseconds: number) => Math.round(Math.max(0, nanoseconds / 1e6 - RESOLUTION) * 100) / 100;
    const p50Ms = lag(histogram.percentile(50));
    const p99Ms = lag(histogram.percentile(99));
    const maxMs = Math.max(lag(histogram.max), Math.round(gap.lag * 100) / 100);
    const details = { p50Ms, p99Ms, maxMs, samples: histogram.count };
    restart(histogram);
    if (p99Ms > maxLagMs) return { status: 'unhealthy', error: `event loop lag p99 ${p99Ms} ms, above maxLagMs ${maxLagMs}`, details };
    if (maxMs > maxLagMs) return { status: 'degraded', error: `event loop blocked for ${maxMs} ms once (p99 ${p99Ms} ms)`, details };
    return { details };
  };
}
