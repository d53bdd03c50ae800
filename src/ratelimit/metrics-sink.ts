/** What a limiter reports for one decision; prebound to one limiter, so a report is one increment. */
export interface LimiterMetrics {
  decision(allowed: boolean): void;
}

/**
 * Where limiters report, without importing prom-client: `nines/metrics` implements it with
 * `rateLimitMetrics(registry)`. Leave it out and a limiter pays nothing.
 */
export interface RateLimitMetrics {
  /** Metrics for the limiter `name`. */
  limiter(name: string): LimiterMetrics;
}
