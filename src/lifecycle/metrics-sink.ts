/**
 * Where shutdown reports, without importing prom-client: `nines/metrics` implements it with
 * `lifecycleMetrics(registry)`. Leave it out and tracking costs one counter per request.
 */
export interface LifecycleMetrics {
  /** A request started (`+1`) or ended (`-1`) on a tracked server. */
  inFlight(delta: 1 | -1): void;
  /** Shutdown began (`true`) or ran to its end (`false`). */
  shuttingDown(active: boolean): void;
}
