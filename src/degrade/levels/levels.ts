import { InvalidOptionError } from '../../core/errors.js';

/** How much of itself a service offers, best first: everything, less, the essentials, nothing but a notice. */
export type DegradationLevel = 'full' | 'degraded' | 'minimal' | 'maintenance';

/** Every level, best first; a level's index is its rank. */
export const DEGRADATION_LEVELS = ['full', 'degraded', 'minimal', 'maintenance'] as const satisfies readonly DegradationLevel[];

/** True when `current` is at or above `min` (`full` is the highest). */
export function levelAtLeast(current: DegradationLevel, min: DegradationLevel): boolean {
  return DEGRADATION_LEVELS.indexOf(current) <= DEGRADATION_LEVELS.indexOf(min);
}

const RANK: Readonly<Record<string, number>> = { full: 0, degraded: 1, minimal: 2, maintenance: 3 };

/** 0 for `full` … 3 for `maintenance`; throws an InvalidOptionError named `name` on anything else. */
export function levelRank(name: string, level: unknown): number {
  if (typeof level !== 'string' || !Object.hasOwn(RANK, level)) {
    throw new InvalidOptionError(`${name} must be one of ${DEGRADATION_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  return RANK[level] as number;
}
