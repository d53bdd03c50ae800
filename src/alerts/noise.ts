import type { ComponentConfig } from '../config/index.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { AlertCandidate } from './lifecycle.js';

/** The alert a flapping component sends instead of its others: one notice when it starts, one when it stops. */
export const FLAPPING_ALERT_NAME = 'NinesComponentFlapping';

/**
 * Noise control, by the rules OneUptime settled on: alerting is held, never monitoring (the
 * figures stay exact); the creation of an alert is held, never its resolution. An alert of a
 * component holds off while a component it depends on is down (only the parent pages; a chain
 * holds by itself, since each child is down in its own right) or while it flaps; a flapping
 * component gets one {@link FLAPPING_ALERT_NAME} alert instead.
 */
export function holdNoise(
  candidates: readonly AlertCandidate[],
  statuses: readonly ComponentStatus[],
  components: ReadonlyArray<Pick<ComponentConfig, 'name' | 'dependsOn'>>,
): AlertCandidate[] {
  const status = new Map(statuses.map((s) => [s.name, s]));
  const down = (name: string) => {
    const s = status.get(name);
    return s !== undefined && (s.incidentSince !== undefined || s.status === 'unhealthy');
  };
  const parents = new Map(components.map((c) => [c.name, c.dependsOn]));
  const held = (name: string | undefined) =>
    name !== undefined && (status.get(name)?.flapping === true || (parents.get(name) ?? []).some(down));
  const out = candidates.map((c) => (c.holds === true && held(c.labels.component) ? { ...c, holds: undefined } : c));
  for (const s of statuses) {
    out.push({
      labels: { alertname: FLAPPING_ALERT_NAME, severity: 'info', component: s.name },
      annotations: { summary: `${s.name} is flapping: its other alerts are held until it settles` },
      holds: s.flapping,
      forMs: 0,
    });
  }
  return out;
}
