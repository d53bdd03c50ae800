import { type AlertRuleConfig, AVAILABILITY_WINDOWS, formatDuration, type NinesConfig, readsCertificate } from '../config/index.js';
import { METRICS } from '../metrics/names.js';
import type { History } from '../monitor/history.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { AlertCandidate } from './lifecycle.js';
import type { PrometheusRule, PrometheusRuleFile } from './prometheus-rules.js';

/** The alert name of each threshold rule type. */
export const THRESHOLD_ALERT_NAMES = {
  availability: 'NinesAvailabilityLow',
  incident: 'NinesIncidentOpen',
  failureRate: 'NinesFailureRateHigh',
  degraded: 'NinesComponentDegraded',
  certificate: 'NinesCertificateExpiring',
  breaker: 'NinesCircuitBreakerOpen',
  backup: 'NinesBackupTooOld',
  drill: 'NinesDrillTooOld',
} as const;

const DAY = 86_400_000;

/** A rule about nines' components (every type but `breaker`, about a service's breakers, and `backup`/`drill`, about backup targets). */
type ComponentRule = Exclude<AlertRuleConfig, { type: 'breaker' | 'backup' | 'drill' }>;
type BreakerRule = Extract<AlertRuleConfig, { type: 'breaker' }>;
type BackupRule = Extract<AlertRuleConfig, { type: 'backup' | 'drill' }>;

/** When each backup target's newest complete backup ended (wall-clock ms; undefined: none), e.g. `nines serve`'s `BackupSchedules`. */
export interface BackupAges {
  lastSuccess(target: string): number | undefined;
  /** The target's restore drills: when the last successful one ended (undefined: none), and whether the last one failed. */
  drill?(target: string): { lastSuccess: number | undefined; lastFailed: boolean };
}

/** The backup targets a rule watches. */
const targetsOf = (rule: BackupRule, targets: readonly string[]): string[] =>
  rule.target === undefined ? [...targets] : targets.filter((t) => t === rule.target);

function backupLabels(rule: BackupRule, target: string): Record<string, string> {
  return { ...rule.labels, alertname: THRESHOLD_ALERT_NAMES[rule.type], rule: rule.name, severity: rule.severity, target };
}

function backupAnnotations(rule: BackupRule, target: string): Record<string, string> {
  const age = formatDuration(rule.olderThan);
  return {
    summary:
      rule.type === 'backup'
        ? `the newest backup of ${target} is older than ${age}, or there is none`
        : `no successful restore drill of ${target} within ${age}, or the last one failed`,
    description: `rule ${rule.name}`,
  };
}

/** Whether a backup or drill rule holds for `target`; undefined when nines cannot tell. */
function backupHolds(rule: BackupRule, target: string, now: number, backups: BackupAges | undefined): boolean | undefined {
  if (rule.type === 'backup') {
    if (backups === undefined) return undefined;
    const last = backups.lastSuccess(target);
    return last === undefined || now - last > rule.olderThan;
  }
  const drill = backups?.drill?.(target);
  if (drill === undefined) return undefined;
  return drill.lastFailed || drill.lastSuccess === undefined || now - drill.lastSuccess > rule.olderThan;
}

/** A backup or drill rule's PromQL condition: its gauges are 0 before the first, so a target never backed up or drilled fires too. */
function backupExpr(rule: BackupRule, target: string): string {
  const max = (metric: string) => `max without (instance, job) (${metric}{target=${q(target)}})`;
  if (rule.type === 'backup') return `time() - ${max(METRICS.backupLastSuccessTimestampSeconds)} > ${rule.olderThan / 1000}`;
  const success = max(METRICS.backupDrillLastSuccessTimestampSeconds);
  // the last drill ended after the last successful one: it failed
  return `time() - ${success} > ${rule.olderThan / 1000} or ${max(METRICS.backupDrillLastTimestampSeconds)} > ${success}`;
}

/** The components a rule watches: its own, or every one of `names` (for a certificate rule, every one whose check reads a certificate). */
function componentsOf(rule: ComponentRule, names: readonly string[], config: Pick<NinesConfig, 'components'>): string[] {
  const watched = rule.component === undefined ? names : names.filter((c) => c === rule.component);
  if (rule.type !== 'certificate') return [...watched];
  const certified = new Set(config.components.filter((c) => readsCertificate(c.check)).map((c) => c.name));
  return watched.filter((c) => certified.has(c));
}

/** The alert's labels: the same from nines and from Prometheus (whose series keep their window), so Alertmanager sees one alert. */
function labelsOf(rule: ComponentRule, component: string): Record<string, string> {
  const own = { ...rule.labels, alertname: THRESHOLD_ALERT_NAMES[rule.type], rule: rule.name, severity: rule.severity, component };
  return rule.type === 'availability' || rule.type === 'failureRate' ? { ...own, window: rule.window } : own;
}

/** Static text, so nines and Prometheus send the same words. */
function annotationsOf(rule: ComponentRule, component: string): Record<string, string> {
  const description = `rule ${rule.name}`;
  switch (rule.type) {
    case 'availability':
      return { summary: `${component} availability over ${rule.window} is below ${rule.below} %`, description };
    case 'incident':
      return { summary: `${component} has had an open incident for more than ${formatDuration(rule.for)}`, description };
    case 'failureRate':
      return { summary: `more than ${rule.above} % of the checks of ${component} failed over ${rule.window}`, description };
    case 'degraded':
      return { summary: `${component} has been degraded (slow but passing) for more than ${formatDuration(rule.for)}`, description };
    case 'certificate':
      return { summary: `the TLS certificate of ${component} expires within ${rule.days} days`, description };
  }
}

/**
 * One rule's verdict on one component at `now`. An incident or degraded rule holds once the open
 * incident or the unbroken degraded run is older than `for`, counted from its start (a stored
 * incident survives a restart; a degraded run seen from the first result after a start may be
 * older, so it cannot tell until `for` has passed again). An availability or failure-rate rule
 * holds while its figure is past the threshold, for `for`; a certificate rule while the
 * certificate last seen expires within `days`. Undefined: cannot tell (nothing observed yet).
 */
function verdict(
  rule: ComponentRule,
  component: string,
  status: ComponentStatus | undefined,
  history: Pick<History, 'runningFigures' | 'runningChecks'>,
  now: number,
): Pick<AlertCandidate, 'holds' | 'forMs'> {
  switch (rule.type) {
    case 'incident': {
      const since = status?.incidentSince;
      return { holds: since !== undefined && now - since >= rule.for, forMs: 0 };
    }
    case 'degraded': {
      const since = status?.degradedSince;
      if (since === undefined || now - since >= rule.for) return { holds: since !== undefined, forMs: 0 };
      return { holds: status?.degradedFromStart ? undefined : false, forMs: 0 };
    }
    case 'availability': {
      const f = history.runningFigures(component, { from: now - AVAILABILITY_WINDOWS[rule.window], to: now }, now);
      return { holds: f === undefined || f.availability === null ? undefined : f.availability < rule.below / 100, forMs: rule.for };
    }
    case 'failureRate': {
      const c = history.runningChecks(component, rule.window, now);
      return { holds: c === undefined ? undefined : c.failed > (c.total * rule.above) / 100, forMs: rule.for };
    }
    case 'certificate': {
      const at = status?.certificateExpiresAt;
      return { holds: at === undefined ? undefined : at - now < rule.days * DAY, forMs: 0 };
    }
  }
}

/**
 * The threshold rules' verdicts at `now` on the monitor's statuses and in-memory figures and check
 * counts (see {@link verdict}), and a `backup` or `drill` rule's on `backups` (cannot tell without them). A
 * `breaker` rule has none: nines cannot see the breakers of the services it watches (their own
 * `/metrics` export them), so it is a Prometheus rule only.
 */
export function thresholdCandidates(
  config: Pick<NinesConfig, 'alerts' | 'components'> & Partial<Pick<NinesConfig, 'backup'>>,
  statuses: readonly ComponentStatus[],
  history: Pick<History, 'runningFigures' | 'runningChecks'>,
  now: number,
  backups?: BackupAges,
): AlertCandidate[] {
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const out: AlertCandidate[] = [];
  for (const rule of config.alerts.rules) {
    if (rule.type === 'breaker') continue;
    if (rule.type === 'backup' || rule.type === 'drill') {
      for (const target of targetsOf(rule, Object.keys(config.backup?.targets ?? {}))) {
        out.push({
          labels: backupLabels(rule, target),
          annotations: backupAnnotations(rule, target),
          holds: backupHolds(rule, target, now, backups),
          forMs: 0,
        });
      }
      continue;
    }
    for (const component of componentsOf(rule, [...byName.keys()], config)) {
      const base = { labels: labelsOf(rule, component), annotations: annotationsOf(rule, component) };
      out.push({ ...base, ...verdict(rule, component, byName.get(component), history, now) });
    }
  }
  return out;
}

const q = (value: string) => JSON.stringify(value); // PromQL strings take JSON's escapes

/** The PromQL condition of a component rule, on the exported series: the worst value over every nines exporting them. */
function exprOf(rule: ComponentRule, component: string): string {
  const c = `component=${q(component)}`;
  switch (rule.type) {
    case 'availability':
      return `min without (instance, job) (${METRICS.availabilityRatio}{${c}, window=${q(rule.window)}}) < ${rule.below / 100}`;
    case 'incident':
      return `max without (instance, job) (${METRICS.incidentsActive}{${c}}) == 1`;
    case 'failureRate': {
      const increase = (selector: string) => `sum without (status) (increase(${METRICS.healthChecksTotal}{${selector}}[${rule.window}]))`;
      return `max without (instance, job) (${increase(`${c}, status="unhealthy"`)} / ${increase(c)}) > ${rule.above / 100}`;
    }
    case 'degraded':
      return `max without (instance, job) (${METRICS.componentDegraded}{${c}}) == 1`;
    case 'certificate':
      return `min without (instance, job) (${METRICS.certificateExpiryTimestampSeconds}{${c}}) - time() < ${rule.days * 86_400}`;
  }
}

/**
 * How long Prometheus must see the condition: the rule's `for` (none for a certificate). nines
 * counts an incident or degraded rule's `for` from the incident's or the run's start, Prometheus
 * from its first evaluation that sees the gauge at 1: they differ by a scrape and an evaluation.
 */
function forOf(rule: ComponentRule): number {
  return rule.type === 'certificate' ? 0 : rule.for;
}

/**
 * A breaker rule, on `nines_circuit_breaker_state` from the services that use nines' policies:
 * open or half-open (a breaker whose trial calls keep failing cycles through both, and stays one
 * alert), one alert per breaker name and job (the instances of a service are one).
 */
function breakerRule(rule: BreakerRule): PrometheusRule {
  const selector = `state=~"open|half-open"${rule.breaker === undefined ? '' : `, name=${q(rule.breaker)}`}`;
  return {
    alert: THRESHOLD_ALERT_NAMES.breaker,
    expr: `max without (instance) (sum without (state) (${METRICS.circuitBreakerState}{${selector}})) == 1`,
    ...(rule.for > 0 ? { for: formatDuration(rule.for) } : {}),
    labels: { ...rule.labels, rule: rule.name, severity: rule.severity },
    annotations: {
      summary: `circuit breaker {{ $labels.name }} of {{ $labels.job }} has been open for more than ${formatDuration(rule.for)}`,
      description: `rule ${rule.name}`,
    },
  };
}

/** The same rules for Prometheus, on the exported series, with the labels nines gives its own alerts. */
export function thresholdRuleGroup(
  config: Pick<NinesConfig, 'alerts' | 'components'> & Partial<Pick<NinesConfig, 'backup'>>,
): PrometheusRuleFile['groups'][number] | undefined {
  const rules: PrometheusRule[] = [];
  const names = config.components.map((c) => c.name);
  for (const rule of config.alerts.rules) {
    if (rule.type === 'breaker') {
      rules.push(breakerRule(rule));
      continue;
    }
    if (rule.type === 'backup' || rule.type === 'drill') {
      for (const target of targetsOf(rule, Object.keys(config.backup?.targets ?? {}))) {
        const { alertname, ...labels } = backupLabels(rule, target);
        rules.push({
          alert: alertname as string,
          expr: backupExpr(rule, target),
          labels,
          annotations: backupAnnotations(rule, target),
        });
      }
      continue;
    }
    for (const component of componentsOf(rule, names, config)) {
      const { alertname, ...labels } = labelsOf(rule, component);
      const forMs = forOf(rule);
      rules.push({
        alert: alertname as string,
        expr: exprOf(rule, component),
        ...(forMs > 0 ? { for: formatDuration(forMs) } : {}),
        labels,
        annotations: annotationsOf(rule, component),
      });
    }
  }
  return rules.length === 0 ? undefined : { name: 'nines-thresholds', rules };
}
