import type { ComponentConfig } from '../config/index.js';
import type { Connectivity } from '../monitor/connectivity.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { AlertCandidate } from './lifecycle.js';
import { THRESHOLD_ALERT_NAMES } from './thresholds.js';

/** The alert a flapping component sends instead of its others: one notice when it starts, one when it stops. */
export const FLAPPING_ALERT_NAME = 'NinesComponentFlapping';
/** The one alert sent while the monitor suspects its own network, instead of every target's. */
export const CONNECTIVITY_ALERT_NAME = 'NinesMonitorConnectivityLost';

const REASONS = { canary: 'a canary fails', 'all-failing': 'every network target fails at once' } as const;

/**
 * Noise control, by the rules OneUptime settled on: alerting is held, never monitoring (the
 * figures stay exact); the creation of an alert is held, never its resolution. An alert of a
 * component holds off while a component it depends on is down, or has not been checked since the
 * component's incident began (they failed together and the child's probe came first), so only the
 * parent pages; a chain holds by itself, each child being down in its own right. A flapping
 * component's alerts hold off too, and it gets one {@link FLAPPING_ALERT_NAME} alert instead.
 * While the monitor suspects its own network (`connectivity`), every alert's creation holds and
 * one {@link CONNECTIVITY_ALERT_NAME} alert says why.
 */
export function holdNoise(
  candidates: readonly AlertCandidate[],
  statuses: readonly ComponentStatus[],
  components: ReadonlyArray<Pick<ComponentConfig, 'name' | 'dependsOn'>>,
  connectivity?: Connectivity & { severity: string },
): AlertCandidate[] {
  const blind = connectivity?.suspect === true;
  const status = new Map(statuses.map((s) => [s.name, s]));
  const down = (name: string) => {
    const s = status.get(name);
    return s !== undefined && (s.incidentSince !== undefined || s.status === 'unhealthy');
  };
  const parents = new Map(components.map((c) => [c.name, c.dependsOn]));
  // a parent not checked since the child's incident began may be down too: its verdict is awaited
  const unknown = (parent: string, since: number | undefined) =>
    since !== undefined && (status.get(parent)?.last?.time ?? Number.NEGATIVE_INFINITY) < since;
  const held = (c: AlertCandidate) => {
    const name = c.labels.component;
    if (name === undefined) return false;
    const since = status.get(name)?.incidentSince;
    // a failure rate is what flapping looks like, steady while the incidents come and go: it is not held for it
    const flapHeld = status.get(name)?.flapping === true && c.labels.alertname !== THRESHOLD_ALERT_NAMES.failureRate;
    return flapHeld || (parents.get(name) ?? []).some((p) => down(p) || unknown(p, since));
  };
  const out = candidates.map((c) => (c.holds === true && (blind || held(c)) ? { ...c, holds: undefined } : c));
  for (const s of statuses) {
    out.push({
      labels: { alertname: FLAPPING_ALERT_NAME, severity: 'info', component: s.name },
      annotations: { summary: `${s.name} is flapping: its other alerts are held until it settles` },
      holds: s.flapping,
      forMs: 0,
    });
  }
  if (connectivity !== undefined) {
    out.push({
      labels: { alertname: CONNECTIVITY_ALERT_NAME, severity: connectivity.severity },
      annotations: {
        summary: `nines cannot trust its own network (${REASONS[connectivity.reason ?? 'canary']}): failures are recorded as unobserved time and other alerts are held`,
      },
      holds: blind,
      forMs: 0,
    });
  }
  return out;
}
