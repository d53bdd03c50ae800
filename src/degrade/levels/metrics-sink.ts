import type { DegradationLevel } from './levels.js';

/** What one manager reports, bound to its reasons up front so every series exists from the start. */
export interface ManagerMetrics {
  /** The level now and its bounded reason: a rule's name, `manual` or `none`. */
  state(level: DegradationLevel, reason: string): void;
}

/**
 * Where a degradation manager reports, without importing prom-client: `nines/metrics` implements it
 * with `degradationMetrics(registry)`. Leave it out and the manager pays nothing.
 */
export interface DegradationMetrics {
  /** Metrics for a manager whose bounded reasons are `reasons`. */
  manager(reasons: readonly string[]): ManagerMetrics;
}
