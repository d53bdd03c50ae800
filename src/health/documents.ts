import { toIetfStatus } from './status.js';
import type { HealthStatus } from './types.js';

/** One entry of the documents: a check's latest result, or a monitored component (no `time` before its first probe). */
export interface DocumentEntry {
  name: string;
  status: HealthStatus;
  critical: boolean;
  /** How long the latest run took; absent before the first. */
  durationMs?: number | undefined;
  /** When the latest run started; absent before the first. */
  time?: number | undefined;
  error?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

/** What `/health` shows of a degradation level: a `DegradationManager` (`nines/degrade`) fits. */
export interface DegradationSource {
  readonly level: string;
  readonly reason: string;
  readonly source: string;
  /** Wall-clock ms since the level has been in force. */
  readonly since: number;
}

/** The `degradation` member of the health+json document. */
export interface DegradationDocument {
  level: string;
  reason: string;
  source: string;
  /** ISO 8601. */
  since: string;
}

/**
 * The IETF health+json document (draft-inadarei-api-health-check): one `name:responseTime` check per
 * entry, and a `degradation` member when `degradation` is given (it does not change `status`).
 */
export function healthJson(
  status: HealthStatus,
  entries: readonly DocumentEntry[],
  service?: { serviceId?: string; version?: string; description?: string },
  degradation?: DegradationSource,
): { status: 'pass' | 'warn' | 'fail'; checks: Record<string, unknown[]>; degradation?: DegradationDocument } {
  const checks: Record<string, unknown[]> = {};
  for (const e of entries) {
    const entry: Record<string, unknown> = { componentId: e.name, componentType: 'component' };
    if (e.time !== undefined) {
      entry.observedValue = e.durationMs;
      entry.observedUnit = 'ms';
    }
    entry.status = toIetfStatus(e.status);
    if (e.time !== undefined) entry.time = new Date(e.time).toISOString();
    if (e.error !== undefined) entry.output = e.error;
    if (e.details !== undefined) entry.details = e.details;
    entry.critical = e.critical;
    checks[`${e.name}:responseTime`] = [entry];
  }
  const doc = { status: toIetfStatus(status), ...service, checks };
  if (degradation === undefined) return doc;
  const { level, reason, source, since } = degradation;
  return { ...doc, degradation: { level, reason, source, since: new Date(since).toISOString() } };
}

/**
 * Readiness as text: `ok`, `shutting down` or the status; with `verbose`, one line per entry as
 * Kubernetes' own endpoints print them (`[+]name healthy`, `[-]` for a failing critical one).
 */
export function readinessText(
  status: HealthStatus,
  entries: readonly DocumentEntry[],
  shuttingDown: boolean,
  verbose: boolean,
): { ok: boolean; body: string } {
  const ok = !shuttingDown && (status === 'healthy' || status === 'degraded');
  if (!verbose) return { ok, body: ok ? 'ok' : shuttingDown ? 'shutting down' : status };
  const lines = entries.map((e) => {
    const failing = e.status === 'unhealthy' || e.status === 'unknown';
    const mark = failing && e.critical ? '-' : '+';
    return `[${mark}]${e.name} ${e.status}${e.error ? `: ${e.error}` : ''}${e.critical ? '' : ' (not critical)'}`;
  });
  if (shuttingDown) lines.push('[-]shutdown in progress');
  lines.push(`readiness check ${ok ? 'passed' : 'failed'}`);
  return { ok, body: lines.join('\n') };
}
