import type { Priority, ShedReason } from './priority.js';

/** What one shedder reports; prebound to its name so each report is one gauge set or counter increment. */
export interface ShedderMetrics {
  /** One decision: admitted (`reason` undefined) or shed for `reason`. */
  decision(priority: Priority, reason: ShedReason | undefined): void;
  /** The controller changed state: whether it is overloaded, and the delay limit (ms) of `normal` work now. */
  state(overloaded: boolean, delayLimitMs: number): void;
}

/**
 * Where load shedders report, without importing prom-client: `nines/metrics` implements it with
 * `loadShedMetrics(registry)`. Leave it out and the shedder pays nothing.
 */
export interface LoadShedMetrics {
  /** Metrics for the shedder `name`. */
  shedder(name: string): ShedderMetrics;
}
