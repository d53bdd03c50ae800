import type { ActiveAlert, AlertEvent } from '../alerts/lifecycle.js';

/** One alert as Alertmanager's `POST /api/v2/alerts` takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** When it resolved or, while it fires, when Alertmanager may take it as resolved (the webhook: Alertmanager's zero time). */
  endsAt: string;
  /** The component on the status page. */
  generatorURL: string;
}

/** `alert` in Alertmanager's shape, ending at `endsAt`; `baseUrl` is the status page's address ('' when unknown). */
export function postableAlert(alert: ActiveAlert, endsAt: string, baseUrl: string): PostableAlert {
  const component = alert.labels.component;
  return {
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: new Date(alert.firedAt ?? alert.activeAt).toISOString(),
    endsAt,
    generatorURL: component === undefined ? baseUrl : `${baseUrl}/components/${encodeURIComponent(component)}`,
  };
}

/** The figures of an alert's SLO at its event, as the notifier's `figures` option gives them. */
export interface AlertFigures {
  /** Up time over observed time in the SLO's window, 0 to 1; null before anything was observed. */
  availability: number | null;
  /** 1 − downtime / budget; negative once overspent. */
  budgetRemaining: number;
  /** Burn rate by window (`5m`, `1h`, …); null where nothing was observed. */
  burnRates: Record<string, number | null>;
}

/** One alert in a {@link NotificationBody}, in Alertmanager's webhook shape. */
export interface NotifiedAlert extends PostableAlert {
  status: 'firing' | 'resolved';
  fingerprint: string;
}

/**
 * The JSON a webhook receives: Alertmanager's webhook payload (version 4), so receivers written for
 * Alertmanager read it as is, plus `nines`: what happened to each alert (firing, a reminder,
 * resolved), when, and the figures behind it at that instant.
 */
export interface NotificationBody {
  version: '4';
  groupKey: string;
  truncatedAlerts: 0;
  /** `firing` while any alert of the message fires. */
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: NotifiedAlert[];
  nines: { events: Array<{ kind: AlertEvent['kind']; at: string; fingerprint: string; figures?: AlertFigures }> };
}

/** Alertmanager's "not yet" time. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The entries every record of `list` shares. */
function common(list: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = list;
  if (first === undefined) return {};
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((r) => r[k] === v)));
}

/**
 * One message for a group of events sent to `receiver` (the latest event of each alert);
 * `baseUrl` is the status page's address ('' when unknown), `figuresOf` the figures behind an event.
 */
export function notificationBody(
  events: readonly AlertEvent[],
  receiver: string,
  options: {
    baseUrl: string;
    groupKey: string;
    groupLabels: Record<string, string>;
    figuresOf?: (e: AlertEvent) => AlertFigures | undefined;
  },
): NotificationBody {
  const alerts = events.map((event): NotifiedAlert => {
    const status = event.kind === 'resolved' ? 'resolved' : 'firing';
    const endsAt = status === 'resolved' ? new Date(event.at).toISOString() : ZERO_TIME;
    return { status, ...postableAlert(event.alert, endsAt, options.baseUrl), fingerprint: event.alert.fingerprint };
  });
  return {
    version: '4',
    groupKey: options.groupKey,
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver,
    groupLabels: options.groupLabels,
    commonLabels: common(alerts.map((a) => a.labels)),
    commonAnnotations: common(alerts.map((a) => a.annotations)),
    externalURL: options.baseUrl,
    alerts,
    nines: {
      events: events.map((e) => {
        const figures = options.figuresOf?.(e);
        return {
          kind: e.kind,
          at: new Date(e.at).toISOString(),
          fingerprint: e.alert.fingerprint,
          ...(figures === undefined ? {} : { figures }),
        };
      }),
    },
  };
}
