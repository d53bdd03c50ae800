/** The degradation levels of `DegradationManager`, best first. */
export const FLAG_LEVELS = ['full', 'degraded', 'minimal', 'maintenance'] as const;

/** A degradation level: `full | degraded | minimal | maintenance`. */
export type FlagLevel = (typeof FLAG_LEVELS)[number];

/** True when `current` is at or above `min` (`full` is the highest). */
export function levelAtLeast(current: FlagLevel, min: FlagLevel): boolean {
  return FLAG_LEVELS.indexOf(current) <= FLAG_LEVELS.indexOf(min);
}
