import type { Span } from '../figures.js';
import type { IncidentTrackerState } from '../incidents.js';
import type { StoreCapabilities } from './backend.js';

/** Status of one stored check result. */
export type ProbeStatus = 'healthy' | 'degraded' | 'unhealthy';

/** One raw check result. */
export interface ProbeRecord {
  component: string;
  /** Wall-clock ms the check started. */
  time: number;
  durationMs: number;
  status: ProbeStatus;
  /** Why it was not healthy; never a secret. */
  error?: string | undefined;
  /** The slot of its component's grid the scheduler ran it for; undefined for a check run on demand. One result per slot is stored. */
  scheduledAt?: number | undefined;
}

/** One incident; `end` is null while it is open. */
export interface IncidentRecord {
  id: number;
  component: string;
  start: number;
  end: number | null;
  /** The error of the check that opened it; null when none was recorded. */
  error: string | null;
}

/** What the monitor keeps per component between restarts. */
export interface ComponentState {
  component: string;
  /** Start of the first check ever stored. */
  firstCheckAt: number;
  /** Start of the latest check stored. */
  lastCheckAt: number;
  /** The incident rules' state, so an open incident survives a restart. */
  tracker: IncidentTrackerState;
  /** The check stored at `lastCheckAt`, when it is still there (read by {@link Store.states}; ignored by writes). */
  last?: ProbeRecord;
  /** The latest quorum round that held a change back or is still in force (HA): what the locations saw, and when. */
  locations?: StoredLocations | undefined;
}

/** A quorum verdict as stored with a component's state: `failing` of `of` locations, at `at` (wall-clock ms). */
export interface StoredLocations {
  down: boolean;
  failing: string[];
  of: number;
  at: number;
}

/** A row of a {@link WriteBatch} recorded under a lease: written only while `fence` is still the component's (see `WriteBatch.owner`). */
export interface Fenced {
  fence?: number | undefined;
}

/** Everything one flush writes, in one transaction: all of it lands or none of it does. */
export interface WriteBatch {
  checks: Array<ProbeRecord & Fenced>;
  opened: Array<{ component: string; start: number; error?: string | undefined } & Fenced>;
  /** Closes the open incident of `component` that started at `start`. */
  resolved: Array<{ component: string; start: number; end: number } & Fenced>;
  gaps: Array<{ component: string } & Span & Fenced>;
  states: Array<ComponentState & Fenced>;
  /**
   * The HA instance that recorded the rows (PostgreSQL only): a row is written only if `owner`
   * holds its component's lease under the row's `fence` on PostgreSQL's clock; the others are
   * dropped as stale. Undefined on one node: nothing is fenced.
   */
  owner?: string | undefined;
}

/** What a write left out on purpose: checks of a slot already stored, rows recorded under a lease since taken over. */
export interface WriteOutcome {
  /** Checks not stored because their `(component, scheduledAt)` was (another instance checked that slot); it must stay 0. */
  duplicates: number;
  /** Rows not stored because their fence was no longer the component's (written by an instance that lost the lease). */
  stale: number;
}

/** A pending or firing alert, as stored so a restart neither re-pages nor forgets it (src/alerts/lifecycle.ts runs its life). */
export interface AlertRecord {
  /** Hash of the labels: one alert per label set, as Alertmanager de-duplicates. */
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** `pending`: the condition holds, not yet for `for`; `firing`: it fires. Resolved alerts are deleted. */
  state: 'pending' | 'firing';
  /** When the condition began to hold. */
  activeAt: number;
  /** When it went from pending to firing; undefined while pending. */
  firedAt?: number | undefined;
  /** When it was last announced (firing or a reminder); undefined before the first. */
  sentAt?: number | undefined;
}

/** A notification that could not be delivered after every attempt. */
export interface DeadLetterRecord {
  id: number;
  receiver: string;
  createdAt: number;
  attempts: number;
  /** Why the last attempt failed; never a secret. */
  error: string;
  /** The body that was not delivered. */
  body: string;
}

/** One label matcher of a silence, as Alertmanager's API writes it. */
export interface SilenceMatcher {
  name: string;
  value: string;
  /** `value` is a regular expression, anchored at both ends. */
  isRegex: boolean;
  /** False: the label must not match. */
  isEqual: boolean;
}

/** A silence: alerts whose labels match every matcher are not announced between `startsAt` and `endsAt`. */
export interface SilenceRecord {
  id: number;
  matchers: SilenceMatcher[];
  startsAt: number;
  endsAt: number;
  createdAt: number;
  createdBy: string;
  comment: string;
}

/** A maintenance window made through the API, as the API took it. */
export interface MaintenanceRecord {
  name: string;
  /** The window's fields as written to the API (config syntax: ISO times, durations like 2h). */
  spec: Record<string, unknown>;
  createdAt: number;
  /** Who made it (a free text from the request); never a token. */
  createdBy: string | undefined;
}

/** Who took an incident on, and when: `by` is what the person wrote, never derived from the token. */
export interface Acknowledgement {
  at: number;
  by: string | null;
}

/** Who may read an incident update: everyone (the status page, its feed) or only holders of the token. */
export type UpdateVisibility = 'public' | 'internal';

/** Statuspage's words for where the work on an incident stands. */
export type UpdateStatus = 'investigating' | 'identified' | 'monitoring' | 'resolved';

/** One note a person added to an incident. */
export interface IncidentUpdateRecord {
  id: number;
  incidentId: number;
  time: number;
  visibility: UpdateVisibility;
  /** Where the work stands, in Statuspage's words; null when not said. */
  status: UpdateStatus | null;
  /** At most 5000 characters. */
  message: string;
  by: string | null;
}

/** What people added to one incident. */
export interface IncidentNotes {
  acknowledged: Acknowledgement | null;
  /** An http(s) URL. */
  postmortem: string | null;
  /** Newest first. */
  updates: IncidentUpdateRecord[];
}

/** How a visitor is told: by e-mail or a webhook. */
export type SubscriberKind = 'email' | 'webhook';

/** A visitor subscribed to the status page; `address` (an e-mail address or a URL) is never shown unmasked. */
export interface SubscriberRecord {
  id: number;
  kind: SubscriberKind;
  address: string;
  /** A webhook's signing secret in force; null for e-mail, and before a webhook's first confirmation. */
  secret: string | null;
  /** The public components it follows; null: all of them. */
  components: string[] | null;
  /** When it was first confirmed; null while it never was (then it gets nothing). */
  confirmedAt: number | null;
  createdAt: number;
  /** When a confirmation still pending was asked for; null when none is. */
  pendingSince: number | null;
}

/** Subscribers, their tokens (SHA-256 hex only) and what was announced to them once. */
export interface SubscriberStore {
  /**
   * Asks to subscribe `kind`/`address` (again): makes the subscriber if new, and sets its pending
   * confirmation (`confirmHash`, the components and secret to apply when confirmed). False, and
   * nothing changes, when one was asked for after `resendAfter` (an address is not mailed again
   * and again); a confirmed subscriber stays confirmed with its settings until the new one is.
   */
  request(r: {
    kind: SubscriberKind;
    address: string;
    components: readonly string[] | null;
    secret: string | null;
    confirmHash: string;
    at: number;
    resendAfter: number;
  }): Promise<boolean>;
  /** Confirms the pending confirmation of `hash` asked for at or after `notBefore`: its settings apply; undefined when there is none. */
  confirm(hash: string, notBefore: number, at: number): Promise<SubscriberRecord | undefined>;
  /** Keeps the hashes of unsubscribe tokens sent in messages. */
  addTokens(tokens: ReadonlyArray<{ hash: string; subscriberId: number; at: number }>): Promise<void>;
  /** Removes the subscriber an unsubscribe token (its hash) was sent to, with its tokens; false when the token is unknown. */
  unsubscribe(hash: string): Promise<boolean>;
  /** Every subscriber, confirmed or not, oldest first. */
  list(): Promise<SubscriberRecord[]>;
  /** Removes subscriber `id` and its tokens; false when there is none. */
  remove(id: number): Promise<boolean>;
  /** Records `key` as announced; false when it already was (so it is announced once, by one instance). */
  claimNotice(key: string, at: number): Promise<boolean>;
  /** Whether `key` was announced. */
  noticed(key: string): Promise<boolean>;
  /** Forgets confirmations asked for before `pendingBefore` (never-confirmed subscribers go), tokens and notices older than `before`. */
  prune(options: { pendingBefore: number; before: number }): Promise<void>;
}

/** Counts and latency of checks over a window, from rollups (and raw rows for the newest minute). */
export interface ProbeStats {
  total: number;
  healthy: number;
  degraded: number;
  unhealthy: number;
  /** Latency percentiles in ms, estimated from fixed histogram buckets; null when no checks. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** A page of a list, newest first; pass `next` as `before` to get the following page. */
export interface Page<T, Next = number> {
  items: T[];
  next: Next | null;
}

/** Where a page of checks ends: one row, unique even among checks of the same millisecond. */
export interface ProbeCursor {
  time: number;
  id: number;
}

export type { StoreCapabilities } from './backend.js';

/** The monitor's storage: SQLite (default) or PostgreSQL behind one interface. */
export interface Store {
  /** What the backend can do (row locks, LISTEN/NOTIFY, advisory locks); ask this, never the dialect's name. */
  readonly capabilities: StoreCapabilities;
  /** Creates or upgrades the schema; safe to call at every start. */
  migrate(): Promise<void>;
  /** Writes a batch atomically; checks of minutes compact() already folded are added to their rollups too. */
  write(batch: WriteBatch): Promise<WriteOutcome>;
  /** Every component's saved state. */
  states(): Promise<ComponentState[]>;
  /** Incidents and gaps of `component` that overlap [from, to), sorted. */
  timeline(component: string, from: number, to: number): Promise<{ incidents: IncidentRecord[]; gaps: Span[] }>;
  /**
   * Raw checks of `component`, newest first, `limit` at most; with `before`, only those started
   * before that time, or after that cursor (a previous page's `next`) in this order.
   */
  checks(component: string, options: { limit: number; before?: number | ProbeCursor }): Promise<Page<ProbeRecord, ProbeCursor>>;
  /** Incidents newest first, optionally of one component and started at or after `since`. */
  incidents(options: { component?: string; since?: number; limit: number; before?: number }): Promise<Page<IncidentRecord>>;
  /** Check counts and latency percentiles of `component` over [from, to). */
  checkStats(component: string, from: number, to: number): Promise<ProbeStats>;
  /** checkStats of each `step` ms of [from, to), oldest first (the last step may be shorter). */
  checkSeries(component: string, from: number, to: number, step: number): Promise<ProbeStats[]>;
  /**
   * Folds raw checks of closed minutes into 1-minute rollups and closed hours into 1-hour rollups,
   * then deletes raw checks older than `retentionMs` and minute rollups older than 30 days.
   * Minutes from `holdFrom` on stay open: checks started then may still be on their way.
   */
  compact(now: number, retentionMs: number, holdFrom?: number): Promise<void>;
  /** Every pending or firing alert, oldest first. */
  alerts(): Promise<AlertRecord[]>;
  /** Upserts `put` and deletes the alerts of `remove` (fingerprints), in one transaction. */
  saveAlerts(changes: { put: readonly AlertRecord[]; remove: readonly string[] }): Promise<void>;
  /** Keeps a notification no receiver took. */
  addDeadLetter(letter: Omit<DeadLetterRecord, 'id'>): Promise<void>;
  /** Dead letters, newest first. */
  deadLetters(options: { limit: number }): Promise<DeadLetterRecord[]>;
  /** Silences that end at or after `endedAfter`, oldest first. */
  silences(options: { endedAfter: number }): Promise<SilenceRecord[]>;
  /** Stores a new silence; its id is returned. */
  addSilence(silence: Omit<SilenceRecord, 'id'>): Promise<number>;
  /** Ends silence `id` at `at` if it ends later; false when there is no such silence. */
  expireSilence(id: number, at: number): Promise<boolean>;
  /** Every maintenance window made through the API, oldest first. */
  maintenance(): Promise<MaintenanceRecord[]>;
  /** Adds or replaces the window named `record.name`. */
  putMaintenance(record: MaintenanceRecord): Promise<void>;
  /** Deletes the window named `name`; false when there was none. */
  deleteMaintenance(name: string): Promise<boolean>;
  /** The incident `id`, or undefined. */
  incident(id: number): Promise<IncidentRecord | undefined>;
  /** Acknowledges incident `id` unless it already is (the first acknowledgement stands); undefined when there is none. */
  acknowledgeIncident(id: number, acknowledgement: Acknowledgement): Promise<IncidentRecord | undefined>;
  /** Sets (or replaces) the postmortem link of incident `id`; undefined when there is none. */
  setPostmortem(id: number, url: string): Promise<IncidentRecord | undefined>;
  /** Adds an update to its incident; undefined when there is no such incident. */
  addIncidentUpdate(update: Omit<IncidentUpdateRecord, 'id'>): Promise<IncidentUpdateRecord | undefined>;
  /** The notes of each of `ids` that exists, with internal updates only when `internal`. */
  incidentNotes(ids: readonly number[], options: { internal: boolean }): Promise<Map<number, IncidentNotes>>;
  /** Open incidents that were acknowledged, so a restart keeps their reminders quiet. */
  acknowledgedOpen(): Promise<Array<{ component: string; start: number }>>;
  /** Visitors subscribed to the status page. */
  readonly subscribers: SubscriberStore;
  /** Bytes the store occupies (database file or relation sizes). */
  size(): Promise<number>;
  /** Resolves when the database answers a trivial query (the service's own health check of its store). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
