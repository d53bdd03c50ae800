import type { CheckResult, HealthStatus } from './types.js';

/**
 * Overall status: `unhealthy` if a critical check is; else `unknown` while a critical check has no
 * result yet; else `degraded` if any check is degraded, or a non-critical one is unhealthy or has no
 * result yet; else `healthy`. A non-critical check never holds the whole service at unknown.
 */
export function overallStatus(results: readonly CheckResult[]): HealthStatus {
  let unknown = false;
  let degraded = false;
  for (const r of results) {
    if (r.status === 'unhealthy') {
      if (r.critical) return 'unhealthy';
      degraded = true;
    } else if (r.status === 'unknown') {
      if (r.critical) unknown = true;
      else degraded = true;
    } else if (r.status === 'degraded') degraded = true;
  }
  if (unknown) return 'unknown';
  return degraded ? 'degraded' : 'healthy';
}

/** IETF health+json status words (draft-inadarei-api-health-check). */
export type IetfStatus = 'pass' | 'warn' | 'fail';

/** healthy → pass, degraded → warn, unhealthy and unknown → fail (no result is no proof of health). */
export function toIetfStatus(status: HealthStatus): IetfStatus {
  return status === 'healthy' ? 'pass' : status === 'degraded' ? 'warn' : 'fail';
}
