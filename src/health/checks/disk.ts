import { statfs } from 'node:fs/promises';
import { checkNumber, checkString } from '../../core/validate.js';
import type { HealthCheck } from '../types.js';
import { formatBytes, formatRatio } from './util.js';

/** Options of {@link disk}. */
export interface DiskOptions {
  /** Unhealthy when fewer bytes than this are free. Default: no limit. */
  minFreeBytes?: number;
  /** Unhealthy when less than this share (0–1) of the filesystem is free. Default: no limit. */
  minFreeRatio?: number;
}

/**
 * Free space of the filesystem holding `path`, as an unprivileged process sees it (root's reserve
 * left out). Details: `freeBytes`, `totalBytes`, `freeRatio`.
 */
export function disk(path: string, options: DiskOptions = {}): HealthCheck {
  checkString('path', path);
  const minFreeBytes = options.minFreeBytes === undefined ? undefined : checkNumber('minFreeBytes', options.minFreeBytes);
  const minFreeRatio = options.minFreeRatio === undefined ? undefined : checkNumber('minFreeRatio', options.minFreeRatio, 0, 1);
  return async ({ signal }) => {
    signal.throwIfAborted();
    const stats = await statfs(path);
    const freeBytes = stats.bavail * stats.bsize;
    const totalBytes = stats.blocks * stats.bsize;
    const freeRatio = totalBytes > 0 ? Math.round((freeBytes / totalBytes) * 10_000) / 10_000 : 0;
    const details = { freeBytes, totalBytes, freeRatio };
    if (minFreeBytes !== undefined && freeBytes < minFreeBytes) {
      return { status: 'unhealthy', error: `${formatBytes(freeBytes)} free, below minFreeBytes ${formatBytes(minFreeBytes)}`, details };
    }
    if (minFreeRatio !== undefined && freeRatio < minFreeRatio) {
      return { status: 'unhealthy', error: `${formatRatio(freeRatio)} free, below minFreeRatio ${formatRatio(minFreeRatio)}`, details };
    }
    return { details };
  };
}
