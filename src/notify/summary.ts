import type { AlertEvent } from '../alerts/lifecycle.js';
import type { AlertFigures, NotificationBody } from './payload.js';

/** What the chat and e-mail receivers say about one alert of a message. */
export interface AlertSummary {
  status: 'firing' | 'resolved';
  /** What happened to it since the last message: it fired, is still firing (a reminder), or resolved. */
  kind: AlertEvent['kind'];
  alertname: string;
  /** Its `summary` annotation, if any. */
  summary: string | undefined;
  /** Its component on the status page ('' when the page's address is unknown). */
  url: string;
  /** Name and value pairs: component, SLO, severity, other labels, since when, the SLO's figures. */
  facts: Array<[string, string]>;
}

/** Labels with a fact of their own. */
const NAMED: Record<string, string> = { component: 'Component', slo: 'SLO', severity: 'Severity', rule: 'Rule' };

/**
 * The message's one-line title in Alertmanager's subject style, `[FIRING:2] NinesErrorBudgetBurn
 * api-slo`: the status (with the number firing), the group's label values, and the SLO (else the
 * component) its alerts share.
 */
export function title(message: NotificationBody): string {
  const firing = message.alerts.filter((a) => a.status === 'firing').length;
  const words = Object.values(message.groupLabels).filter((v) => v !== '');
  const alertname = message.commonLabels.alertname;
  if (words.length === 0 && alertname !== undefined) words.push(alertname);
  const scope = message.commonLabels.slo ?? message.commonLabels.component;
  if (scope !== undefined && !words.includes(scope)) words.push(scope);
  return `[${message.status === 'firing' ? `FIRING:${firing}` : 'RESOLVED'}] ${words.join(' ') || 'alerts'}`;
}

/** The alerts of `message`, firing ones first, each with its facts. */
export function alertSummaries(message: NotificationBody): AlertSummary[] {
  const events = new Map(message.nines.events.map((e) => [e.fingerprint, e]));
  const summaries = message.alerts.map((alert): AlertSummary => {
    const event = events.get(alert.fingerprint);
    const facts: Array<[string, string]> = [];
    for (const [label, name] of Object.entries(NAMED)) {
      const value = alert.labels[label];
      if (value !== undefined) facts.push([name, value]);
    }
    const others = Object.entries(alert.labels).filter(([k]) => k !== 'alertname' && NAMED[k] === undefined);
    if (others.length > 0) facts.push(['Labels', others.map(([k, v]) => `${k}=${v}`).join(', ')]);
    facts.push(alert.status === 'resolved' ? ['Resolved', minute(alert.endsAt)] : ['Since', minute(alert.startsAt)]);
    if (event?.figures !== undefined) facts.push(...figureFacts(event.figures));
    return {
      status: alert.status,
      kind: event?.kind ?? (alert.status === 'resolved' ? 'resolved' : 'firing'),
      alertname: alert.labels.alertname ?? 'alert',
      summary: alert.annotations.summary,
      url: alert.generatorURL,
      facts,
    };
  });
  return [...summaries.filter((s) => s.status === 'firing'), ...summaries.filter((s) => s.status === 'resolved')];
}

/** What happened to an alert, in words. */
export function kindText(kind: AlertEvent['kind']): string {
  return kind === 'repeat' ? 'still firing' : kind;
}

/** `2026-06-01 12:00 UTC` of an ISO time. */
export function minute(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** `99.912 %`: a ratio as a percentage, to `digits` decimals, without trailing zeros. */
function percent(ratio: number, digits: number): string {
  if (!Number.isFinite(ratio)) return ratio > 0 ? '∞' : 'all spent';
  return `${Number((ratio * 100).toFixed(digits))} %`;
}

function figureFacts(f: AlertFigures): Array<[string, string]> {
  const facts: Array<[string, string]> = [];
  if (f.availability !== null) facts.push(['Availability', percent(f.availability, 3)]);
  facts.push(['Budget remaining', percent(f.budgetRemaining, 1)]);
  const rates = Object.entries(f.burnRates).filter((e): e is [string, number] => e[1] !== null);
  if (rates.length > 0) facts.push(['Burn rates', rates.map(([w, r]) => `${w} ${Number(r.toPrecision(3))}`).join(', ')]);
  return facts;
}
