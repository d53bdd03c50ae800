import { getHeapStatistics } from 'node:v8';
import { checkNumber } from '../../core/validate.js';
import type { HealthCheck } from '../types.js';
import { formatBytes, formatRatio } from './util.js';

/** Options of {@link memory}. */
export interface MemoryOptions {
  /** Unhealthy when the JS heap uses more than this share (0–1) of V8's heap limit. Default 0.9. */
  maxHeapRatio?: number;
  /** Unhealthy when the resident set is larger than this many bytes. Default: no limit. */
  maxRssBytes?: number;
}

/** Heap use against V8's limit (`--max-old-space-size`), and RSS. Details: `heapUsed`, `heapLimit`, `heapRatio`, `rss`. */
export function memory(options: MemoryOptions = {}): HealthCheck {
  const maxHeapRatio = checkNumber('maxHeapRatio', options.maxHeapRatio ?? 0.9, 0, 1);
  const maxRssBytes = options.maxRssBytes === undefined ? undefined : checkNumber('maxRssBytes', options.maxRssBytes);
  return () => {
    const { heapUsed, rss } = process.memoryUsage();
    // read on every run: --heapsnapshot-near-heap-limit and near-heap-limit callbacks can raise it
    const heapLimit = getHeapStatistics().heap_size_limit;
    const heapRatio = Math.round((heapUsed / heapLimit) * 10_000) / 10_000;
    const details = { heapUsed, heapLimit, heapRatio, rss };
    if (heapRatio > maxHeapRatio) {
      return {
        status: 'unhealthy',
        error: `heap at ${formatRatio(heapRatio)} of its limit, above maxHeapRatio ${formatRatio(maxHeapRatio)}`,
        details,
      };
    }
    if (maxRssBytes !== undefined && rss > maxRssBytes) {
      return { status: 'unhealthy', error: `rss ${formatBytes(rss)}, above maxRssBytes ${formatBytes(maxRssBytes)}`, details };
    }
    return { details };
  };
}
