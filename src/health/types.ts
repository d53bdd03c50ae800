/** Status of one check or of the whole service. */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

/** What a check is handed when it runs. */
export interface CheckContext {
  /** Aborted when the check's timeout expires or the registry stops; pass it on to I/O. */
  readonly signal: AbortSignal;
}

/** What a check may return: nothing (healthy), or a status with details. Throwing means unhealthy. */
export interface CheckOutcome {
  /** Default `healthy`; a check may report `degraded` or `unhealthy` without throwing. */
  status?: 'healthy' | 'degraded' | 'unhealthy';
  /** Figures worth showing (round-trip, versions, pool sizes…); never secrets. */
  details?: Record<string, unknown>;
  /** Why the status is not healthy. */
  error?: string;
}

/** A health check: any async function. It passes by returning, fails by throwing (or returning `status: 'unhealthy'`). */
// biome-ignore lint/suspicious/noConfusingVoidType: `void` lets any `async () => {}` be a check.
export type HealthCheck = (context: CheckContext) => Promise<CheckOutcome | undefined | void> | CheckOutcome | undefined | void;

/** The result of one run of one check. */
export interface CheckResult {
  name: string;
  status: HealthStatus;
  /** Whether readiness depends on this check. */
  critical: boolean;
  /** How long the run took, ms. */
  durationMs: number;
  /** Wall-clock ms when the run started. */
  time: number;
  /** Readable reason when not healthy (`timeout` when it ran out of time). */
  error?: string;
  details?: Record<string, unknown>;
  tags: string[];
}
