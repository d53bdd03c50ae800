import type { ComponentStatus } from '../monitor/monitor.js';
import type { AlertCandidate } from './lifecycle.js';

/**
 * Marks the candidates whose `component` has an acknowledged open incident: someone works on it,
 * so reminders would only interrupt them (lifecycle.ts sends none). A new incident of the
 * component is not acknowledged, so its alerts remind again.
 */
export function markAcknowledged(candidates: readonly AlertCandidate[], statuses: readonly ComponentStatus[]): AlertCandidate[] {
  const acknowledged = new Set(statuses.filter((s) => s.acknowledged).map((s) => s.name));
  if (acknowledged.size === 0) return [...candidates];
  return candidates.map((c) =>
    c.labels.component !== undefined && acknowledged.has(c.labels.component) ? { ...c, acknowledged: true } : c,
  );
}
