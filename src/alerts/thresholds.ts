import { type AlertRuleConfig, AVAILABILITY_WINDOWS, formatDuration, type NinesConfig } from '../config/index.js';
import { METRICS } from '../metrics/names.js';
import type { History } from '../monitor/history.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { AlertCandidate } from './lifecycle.js';
import type { PrometheusRule, PrometheusRuleFile } from './prometheus-rules.js';

/** The alert name of each threshold rule type. */
export const THRESHOLD_ALERT_NAMES = { availability: 'NinesAvailabilityLow', incident: 'NinesIncidentOpen' } as const;

/** The components a rule watches: its own, or every component. */
function componentsOf(rule: AlertRuleConfig, all: readonly string[]): string[] {
  return rule.component === undefined ? [...all] : all.filter((c) => c === rule.component);
}

/** The alert's labels: the same from nines and from Prometheus (whose series keep their window), so Alertmanager sees one alert. */
function labelsOf(rule: AlertRuleConfig, component: string): Record<string, string> {
  const own = { ...rule.labels, alertname: THRESHOLD_ALERT_NAMES[rule.type], rule: rule.name, severity: rule.severity, component };
  return rule.type === 'availability' ? { ...own, window: rule.window } : own;
}

function annotationsOf(rule: AlertRuleConfig, component: string): Record<string, string> {
  if (rule.type === 'availability')
    return { summary: `${component} availability over ${rule.window} is below ${rule.below} %`, description: `rule ${rule.name}` };
  return { summary: `${component} has had an open incident for more than ${formatDuration(rule.for)}`, description: `rule ${rule.name}` };
}

/**
 * The threshold rules' verdicts at `now` on the monitor's statuses and in-memory figures. An
 * incident rule holds once the open incident is older than its `for` (counted from the incident's
 * start, so a restart does not restart the count); an availability rule holds while the figure is
 * below its threshold, for its `for`. A component with nothing observed yet cannot tell.
 */
export function thresholdCandidates(
  config: Pick<NinesConfig, 'alerts'>,
  statuses: readonly ComponentStatus[],
  history: Pick<History, 'runningFigures'>,
  now: number,
): AlertCandidate[] {
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const out: AlertCandidate[] = [];
  for (const rule of config.alerts.rules) {
    for (const component of componentsOf(rule, [...byName.keys()])) {
      const base = { labels: labelsOf(rule, component), annotations: annotationsOf(rule, component) };
      if (rule.type === 'incident') {
        const since = byName.get(component)?.incidentSince;
        out.push({ ...base, holds: since !== undefined && now - since >= rule.for, forMs: 0 });
      } else {
        const f = history.runningFigures(component, { from: now - AVAILABILITY_WINDOWS[rule.window], to: now }, now);
        const holds = f === undefined || f.availability === null ? undefined : f.availability < rule.below / 100;
        out.push({ ...base, holds, forMs: rule.for });
      }
    }
  }
  return out;
}

/** The same rules for Prometheus, on the exported gauges (the worst value over every nines exporting them). */
export function thresholdRuleGroup(config: Pick<NinesConfig, 'alerts' | 'components'>): PrometheusRuleFile['groups'][number] | undefined {
  const rules: PrometheusRule[] = [];
  const all = config.components.map((c) => c.name);
  for (const rule of config.alerts.rules) {
    for (const component of componentsOf(rule, all)) {
      const selector = `component=${JSON.stringify(component)}`;
      const expr =
        rule.type === 'availability'
          ? `min without (instance, job) (${METRICS.availabilityRatio}{${selector}, window=${JSON.stringify(rule.window)}}) < ${rule.below / 100}`
          : `max without (instance, job) (${METRICS.incidentsActive}{${selector}}) == 1`;
      const { alertname, ...labels } = labelsOf(rule, component);
      rules.push({
        alert: alertname as string,
        expr,
        ...(rule.for > 0 ? { for: formatDuration(rule.for) } : {}),
        labels,
        annotations: annotationsOf(rule, component),
      });
    }
  }
  return rules.length === 0 ? undefined : { name: 'nines-thresholds', rules };
}
