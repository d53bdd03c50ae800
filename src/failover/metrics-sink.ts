/** How a request ended, as `nines_upstream_requests_total` counts it. */
export type UpstreamOutcome = 'success' | 'server_error' | 'error' | 'no_healthy_upstream';

/** What one failover dispatcher reports; prebound to its upstream name. */
export interface UpstreamMetrics {
  /** One request ended after `seconds` (all its attempts). */
  request(outcome: UpstreamOutcome, seconds: number): void;
  /** An endpoint joined (true) or left (false) the upstream. */
  endpoint(origin: string, present: boolean): void;
  /** An endpoint's routability changed: up (checks passing, not ejected) and ejected. */
  state(origin: string, up: boolean, ejected: boolean): void;
  /** An endpoint was ejected for `reason`. */
  ejection(origin: string, reason: string): void;
  /** An endpoint reached an ejection threshold but the ejection cap kept it in rotation. */
  overflow(origin: string, reason: string): void;
  /** One active health check ended with `result`. */
  healthCheck(origin: string, result: string): void;
  /** The share of traffic, in percent, each tier gets now. */
  tierLoad(loads: readonly number[]): void;
  /** A tier entered (true) or left (false) panic. */
  panic(tier: number, panic: boolean): void;
  /** One retry, by reason (`connect`, `reset`, `timeout`, `status`). */
  retry(reason: string): void;
  /** A retry refused because the retry budget was spent. */
  budgetExhausted(): void;
}

/**
 * Where failover dispatchers report, without importing prom-client: `nines/metrics` implements it
 * with `upstreamMetrics(registry)`. Leave it out and a dispatcher pays nothing.
 */
export interface FailoverMetrics {
  /** Metrics for the upstream `name`. */
  upstream(name: string): UpstreamMetrics;
}
