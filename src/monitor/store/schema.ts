import type { Generated } from 'kysely';

/** Table rows as stored; times are wall-clock ms, statuses 0 healthy, 1 degraded, 2 unhealthy. */
export interface ComponentsTable {
  id: Generated<number>;
  name: string;
}

/** One raw check: kept small, since there are millions (no foreign key; the id is SQLite's rowid). */
export interface ChecksTable {
  /** Unique per row, so pages of checks of one millisecond neither split nor repeat (migration 0004). */
  id: Generated<number>;
  component_id: number;
  time: number;
  duration_ms: number;
  status: number;
  error: string | null;
  /** Migration 0011: the grid slot it ran for (null on demand); unique per component, so no slot is stored twice. */
  scheduled_ms: number | null;
}

export interface IncidentsTable {
  id: Generated<number>;
  component_id: number;
  start_ms: number;
  end_ms: number | null;
  error: string | null;
  /** Migration 0008: who acknowledged it, when, and its postmortem link. */
  acknowledged_ms: number | null;
  acknowledged_by: string | null;
  postmortem_url: string | null;
}

export interface GapsTable {
  component_id: number;
  from_ms: number;
  to_ms: number;
}

export interface ComponentStateTable {
  component_id: number;
  first_check_ms: number;
  last_check_ms: number;
  /** JSON of `IncidentTrackerState`. */
  tracker: string;
  /** JSON of the latest quorum verdict ({@link ComponentState.locations}); null without one (migration 0012). */
  locations: string | null;
}

/** One minute or hour of checks of one component, mergeable with its neighbours. */
export interface RollupTable {
  component_id: number;
  bucket_start_ms: number;
  healthy: number;
  degraded: number;
  unhealthy: number;
  latency_sum: number;
  latency_min: number;
  latency_max: number;
  /** JSON array of counts per `LATENCY_BOUNDS` bucket (see histogram.ts). */
  histogram: string;
}

/** Small named numbers, e.g. the rollup watermarks. */
export interface MetaTable {
  key: string;
  value: number;
}

/** A pending or firing alert (migration 0005), so a restart neither re-pages nor forgets it. */
export interface AlertsTable {
  fingerprint: string;
  /** JSON of the alert's labels and annotations. */
  labels: string;
  annotations: string;
  state: string;
  active_ms: number;
  fired_ms: number | null;
  sent_ms: number | null;
}

/** A notification no receiver took after every attempt (migration 0006). */
export interface DeadLettersTable {
  id: Generated<number>;
  receiver: string;
  created_ms: number;
  attempts: number;
  error: string;
  /** The JSON body that was not delivered (labels and figures; never a secret). */
  body: string;
}

/** A maintenance window made through the API (migration 0007). */
export interface MaintenanceTable {
  name: string;
  /** JSON of the window as the API took it. */
  spec: string;
  created_ms: number;
  created_by: string | null;
}

/** An update a person added to an incident (migration 0008). */
export interface IncidentUpdatesTable {
  id: Generated<number>;
  incident_id: number;
  time_ms: number;
  /** `public` or `internal`. */
  visibility: string;
  /** An `UpdateStatus`, or null. */
  status: string | null;
  message: string;
  author: string | null;
}

/** A silence by label matchers (migration 0009). */
export interface SilencesTable {
  id: Generated<number>;
  /** JSON of the matchers. */
  matchers: string;
  starts_ms: number;
  ends_ms: number;
  created_ms: number;
  created_by: string;
  comment: string;
}

/** A visitor subscribed to the status page (migration 0010); `address` is an e-mail address or a webhook URL, never shown. */
export interface SubscribersTable {
  id: Generated<number>;
  /** `email` or `webhook`. */
  kind: string;
  address: string;
  /** A webhook's signing secret in force (nines made it; the receiver learnt it from the challenge). */
  secret: string | null;
  /** JSON array of the public components it follows; null: all. */
  components: string | null;
  confirmed_ms: number | null;
  created_ms: number;
  /** SHA-256 hex of the pending confirmation token, and when it was asked for. */
  confirm_hash: string | null;
  confirm_ms: number | null;
  /** JSON `{ components, secret }` applied when the pending confirmation is confirmed. */
  pending: string | null;
}

/** SHA-256 hex of an unsubscribe token sent in one message (migration 0010). */
export interface SubscriberTokensTable {
  hash: string;
  subscriber_id: number;
  created_ms: number;
}

/** Something announced to subscribers once, by key (migration 0010). */
export interface SubscriberNoticesTable {
  key: string;
  sent_ms: number;
}

/** The whole schema, for kysely's typed queries. */
export interface Database {
  components: ComponentsTable;
  checks: ChecksTable;
  incidents: IncidentsTable;
  gaps: GapsTable;
  component_state: ComponentStateTable;
  rollup_minute: RollupTable;
  rollup_hour: RollupTable;
  meta: MetaTable;
  alerts: AlertsTable;
  dead_letters: DeadLettersTable;
  maintenance: MaintenanceTable;
  silences: SilencesTable;
  incident_updates: IncidentUpdatesTable;
  subscribers: SubscribersTable;
  subscriber_tokens: SubscriberTokensTable;
  subscriber_notices: SubscriberNoticesTable;
}
