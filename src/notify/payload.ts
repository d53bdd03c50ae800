import type { AlertEvent } from '../alerts/lifecycle.js';

/** One alert in a {@link NotificationBody}, in Alertmanager's webhook shape. */
export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** When it resolved; Alertmanager's zero time while firing. */
  endsAt: string;
  fingerprint: string;
  /** The component on the status page. */
  generatorURL: string;
}

/**
 * The JSON a webhook receives: Alertmanager's webhook payload (version 4), so receivers written for
 * Alertmanager read it as is, plus `nines`: what happened (firing, a reminder, resolved) and the
 * figures behind the alert at that instant.
 */
export interface NotificationBody {
  version: '4';
  groupKey: string;
  truncatedAlerts: 0;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: NotifiedAlert[];
  nines: { kind: AlertEvent['kind']; at: string; figures?: unknown };
}

/** Alertmanager's "not yet" time. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The body for `event` sent to `receiver`; `baseUrl` is the status page's address ('' when unknown). */
export function notificationBody(event: AlertEvent, receiver: string, baseUrl: string, figures?: unknown): NotificationBody {
  const { alert } = event;
  const status = event.kind === 'resolved' ? 'resolved' : 'firing';
  const component = alert.labels.component;
  return {
    version: '4',
    groupKey: alert.fingerprint,
    truncatedAlerts: 0,
    status,
    receiver,
    groupLabels: { alertname: alert.labels.alertname ?? '' },
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: baseUrl,
    alerts: [
      {
        status,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: new Date(alert.firedAt ?? alert.activeAt).toISOString(),
        endsAt: status === 'resolved' ? new Date(event.at).toISOString() : ZERO_TIME,
        fingerprint: alert.fingerprint,
        generatorURL: component === undefined ? baseUrl : `${baseUrl}/components/${encodeURIComponent(component)}`,
      },
    ],
    nines: { kind: event.kind, at: new Date(event.at).toISOString(), ...(figures === undefined ? {} : { figures }) },
  };
}
