import { type Kysely, sql, type Transaction } from 'kysely';
import { InvalidOptionError } from '../../core/errors.js';
import { checkInteger } from '../../core/validate.js';
import type { Span } from '../figures.js';
import { type IncidentTrackerState, readRecent } from '../incidents.js';
import type { Backend, StoreCapabilities } from './backend.js';
import { chunks, compact } from './compaction.js';
import { mergeLate } from './late.js';
import { migrate } from './migrations.js';
import { planWindow, type Segment } from './plan.js';
import { Aggregate } from './rollup.js';
import type { Database } from './schema.js';
import { SubscriberRows } from './subscriber-rows.js';
import type {
  Acknowledgement,
  AlertRecord,
  ComponentState,
  DeadLetterRecord,
  IncidentNotes,
  IncidentRecord,
  IncidentUpdateRecord,
  MaintenanceRecord,
  Page,
  ProbeCursor,
  ProbeRecord,
  ProbeStats,
  ProbeStatus,
  SilenceMatcher,
  SilenceRecord,
  Store,
  StoredLocations,
  UpdateStatus,
  WriteBatch,
  WriteOutcome,
} from './types.js';
import { readMark } from './watermarks.js';

const STATUS_CODE: Record<ProbeStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };
const STATUS_NAME: readonly ProbeStatus[] = ['healthy', 'degraded', 'unhealthy'];
const LIST_NAMES = ['checks', 'opened', 'resolved', 'gaps', 'states'] as const;

const hasRows = (batch: WriteBatch): boolean => LIST_NAMES.some((list) => batch[list].length > 0);
const componentsOf = (batch: WriteBatch): Set<string> => new Set(LIST_NAMES.flatMap((list) => batch[list].map((row) => row.component)));

type Db = Kysely<Database> | Transaction<Database>;

function parseTracker(json: string): IncidentTrackerState {
  // JSON has no undefined: absent and null fields both mean "not set".
  const t = JSON.parse(json) as Partial<Record<keyof IncidentTrackerState, number | null>>;
  return {
    openSince: t.openSince ?? undefined,
    failures: t.failures ?? 0,
    failingSince: t.failingSince ?? undefined,
    passes: t.passes ?? 0,
    passingSince: t.passingSince ?? undefined,
    recent: readRecent(t.recent),
  };
}

/** A stored quorum verdict, read defensively (undefined when it is not one). */
function parseLocations(json: string): StoredLocations | undefined {
  const l = JSON.parse(json) as Partial<StoredLocations>;
  const failing = Array.isArray(l.failing) ? l.failing.filter((f): f is string => typeof f === 'string') : [];
  if (typeof l.of !== 'number' || typeof l.at !== 'number') return undefined;
  return { down: l.down === true, failing, of: l.of, at: l.at };
}

/** The {@link Store} on any kysely backend; SQL differences between dialects stay in the backend folders and migrations. */
export class KyselyStore implements Store {
  readonly #backend: Backend;
  readonly #db: Kysely<Database>;
  /** See OpenStoreOptions.lateMs. */
  readonly #lateMs: number;
  /** Component name to id; ids never change, so this only grows (and only after a commit). */
  readonly #ids = new Map<string, number>();
  #compacting: Promise<unknown> = Promise.resolve();
  /** See {@link Store.subscribers}. */
  readonly subscribers: SubscriberRows;

  constructor(backend: Backend, options: { lateMs: number }) {
    this.#backend = backend;
    this.#db = backend.db;
    this.subscribers = new SubscriberRows(backend.db);
    this.#lateMs = options.lateMs;
  }

  /** See {@link Store.capabilities}. */
  get capabilities(): StoreCapabilities {
    return this.#backend.capabilities;
  }

  migrate(): Promise<void> {
    return migrate(this.#backend);
  }

  async write(input: WriteBatch): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { duplicates: 0, stale: 0 };
    if (input.owner !== undefined && !this.#backend.capabilities.supportsRowLocks)
      throw new InvalidOptionError('fenced writes (WriteBatch.owner) need PostgreSQL');
    if (!hasRows(input)) return outcome;
    const ids = await this.#db.transaction().execute(async (trx) => {
      const batch = input.owner === undefined ? input : await this.#fenced(trx, input, input.owner, outcome);
      const ids = await this.#resolveIds(trx, componentsOf(batch));
      const id = (name: string) => ids.get(name) as number;
      const checks = batch.checks.map((c) => ({
        component_id: id(c.component),
        time: c.time,
        duration_ms: Math.max(0, Math.round(c.durationMs)),
        status: STATUS_CODE[c.status],
        error: c.error ?? null,
        scheduled_ms: c.scheduledAt ?? null,
      }));
      const inserted: typeof checks = [];
      for (const rows of chunks(checks)) {
        // a slot already stored (another instance ran it) is skipped and counted, never written twice
        const written = await trx
          .insertInto('checks')
          .values(rows)
          .onConflict((oc) => oc.columns(['component_id', 'scheduled_ms']).doNothing())
          .returning(['component_id', 'time', 'duration_ms', 'status', 'error', 'scheduled_ms'])
          .execute();
        inserted.push(...written);
        outcome.duplicates += rows.length - written.length;
      }
      await mergeLate(trx, this.#backend.capabilities, inserted);
      for (const rows of chunks(batch.opened)) {
        await trx
          .insertInto('incidents')
          .values(rows.map((o) => ({ component_id: id(o.component), start_ms: o.start, end_ms: null, error: o.error ?? null })))
          .execute();
      }
      for (const r of batch.resolved) {
        await trx
          .updateTable('incidents')
          .set({ end_ms: r.end })
          .where('component_id', '=', id(r.component))
          .where('start_ms', '=', r.start)
          .where('end_ms', 'is', null)
          .execute();
      }
      for (const rows of chunks(batch.gaps)) {
        await trx
          .insertInto('gaps')
          .values(rows.map((g) => ({ component_id: id(g.component), from_ms: g.from, to_ms: g.to })))
          .execute();
      }
      // One row per component: PostgreSQL refuses to upsert the same row twice in one statement.
      const states = new Map(batch.states.map((s) => [s.component, s]));
      for (const rows of chunks([...states.values()])) {
        await trx
          .insertInto('component_state')
          .values(
            rows.map((s) => ({
              component_id: id(s.component),
              first_check_ms: s.firstCheckAt,
              last_check_ms: s.lastCheckAt,
              tracker: JSON.stringify(s.tracker),
              locations: s.locations === undefined ? null : JSON.stringify(s.locations),
            })),
          )
          .onConflict((oc) =>
            oc.column('component_id').doUpdateSet((eb) => ({
              first_check_ms: eb.ref('excluded.first_check_ms'),
              last_check_ms: eb.ref('excluded.last_check_ms'),
              tracker: eb.ref('excluded.tracker'),
              locations: eb.ref('excluded.locations'),
            })),
          )
          .execute();
      }
      return ids;
    });
    // Cached only now: ids assigned in a rolled-back transaction do not exist.
    for (const [name, id] of ids) this.#ids.set(name, id);
    return outcome;
  }

  /**
   * `batch` without the rows whose fence is not their component's lease now: the leases `owner`
   * still holds are read `FOR SHARE` in the write's transaction, so a takeover (which updates the
   * lease row) waits for this write to commit, and a write after it sees the new fence.
   */
  async #fenced(trx: Transaction<Database>, batch: WriteBatch, owner: string, outcome: WriteOutcome): Promise<WriteBatch> {
    const components = [...componentsOf(batch)].sort();
    // nines_ha_leases is on the search_path, in the store's schema (src/monitor/ha/tables.ts)
    const { rows } = await sql<{ component: string; fence: string | number }>`
      SELECT component, fence FROM nines_ha_leases
      WHERE owner = ${owner} AND component = ANY(${components}::text[]) AND expires_at > now()
      ORDER BY component FOR SHARE`.execute(trx);
    const current = new Map(rows.map((r) => [r.component, Number(r.fence)]));
    const keep = <T extends { component: string; fence?: number | undefined }>(list: readonly T[]): T[] => {
      const kept = list.filter((row) => row.fence !== undefined && current.get(row.component) === row.fence);
      outcome.stale += list.length - kept.length;
      return kept;
    };
    return {
      checks: keep(batch.checks),
      opened: keep(batch.opened),
      resolved: keep(batch.resolved),
      gaps: keep(batch.gaps),
      states: keep(batch.states),
    };
  }

  async states(): Promise<ComponentState[]> {
    const rows = await this.#db
      .selectFrom('component_state as s')
      .innerJoin('components as c', 'c.id', 's.component_id')
      .select(['c.name', 's.first_check_ms', 's.last_check_ms', 's.tracker', 's.locations'])
      // the check at last_check_ms, by the (component_id, time) index: what another instance saw last
      .select((eb) => {
        const at = () =>
          eb
            .selectFrom('checks as k')
            .whereRef('k.component_id', '=', 's.component_id')
            .whereRef('k.time', '=', 's.last_check_ms')
            .orderBy('k.id', 'desc')
            .limit(1);
        return [
          at().select('k.status').as('last_status'),
          at().select('k.duration_ms').as('last_duration_ms'),
          at().select('k.error').as('last_error'),
        ];
      })
      .orderBy('c.name')
      .execute();
    return rows.map((r) => ({
      component: r.name,
      firstCheckAt: r.first_check_ms,
      lastCheckAt: r.last_check_ms,
      tracker: parseTracker(r.tracker),
      ...(r.locations === null || r.locations === undefined ? {} : { locations: parseLocations(r.locations) }),
      ...(r.last_status === null || r.last_status === undefined
        ? {}
        : {
            last: {
              component: r.name,
              time: r.last_check_ms,
              durationMs: Number(r.last_duration_ms ?? 0),
              status: STATUS_NAME[Number(r.last_status)] ?? 'unhealthy',
              ...(r.last_error === null || r.last_error === undefined ? {} : { error: r.last_error }),
            },
          }),
    }));
  }

  async alerts(): Promise<AlertRecord[]> {
    const rows = await this.#db.selectFrom('alerts').selectAll().orderBy('active_ms').orderBy('fingerprint').execute();
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      labels: JSON.parse(r.labels) as Record<string, string>,
      annotations: JSON.parse(r.annotations) as Record<string, string>,
      state: r.state === 'firing' ? 'firing' : 'pending',
      activeAt: r.active_ms,
      firedAt: r.fired_ms ?? undefined,
      sentAt: r.sent_ms ?? undefined,
    }));
  }

  async saveAlerts(changes: { put: readonly AlertRecord[]; remove: readonly string[] }): Promise<void> {
    if (changes.put.length === 0 && changes.remove.length === 0) return;
    await this.#db.transaction().execute(async (trx) => {
      if (changes.remove.length > 0)
        await trx
          .deleteFrom('alerts')
          .where('fingerprint', 'in', [...changes.remove])
          .execute();
      // one row per fingerprint: PostgreSQL refuses to upsert the same row twice in one statement
      const rows = [...new Map(changes.put.map((a) => [a.fingerprint, a])).values()].map((a) => ({
        fingerprint: a.fingerprint,
        labels: JSON.stringify(a.labels),
        annotations: JSON.stringify(a.annotations),
        state: a.state,
        active_ms: a.activeAt,
        fired_ms: a.firedAt ?? null,
        sent_ms: a.sentAt ?? null,
      }));
      for (const part of chunks(rows)) {
        await trx
          .insertInto('alerts')
          .values(part)
          .onConflict((oc) =>
            oc.column('fingerprint').doUpdateSet((eb) => ({
              labels: eb.ref('excluded.labels'),
              annotations: eb.ref('excluded.annotations'),
              state: eb.ref('excluded.state'),
              active_ms: eb.ref('excluded.active_ms'),
              fired_ms: eb.ref('excluded.fired_ms'),
              sent_ms: eb.ref('excluded.sent_ms'),
            })),
          )
          .execute();
      }
    });
  }

  async addDeadLetter(letter: Omit<DeadLetterRecord, 'id'>): Promise<void> {
    await this.#db
      .insertInto('dead_letters')
      .values({
        receiver: letter.receiver,
        created_ms: letter.createdAt,
        attempts: letter.attempts,
        error: letter.error,
        body: letter.body,
      })
      .execute();
  }

  async deadLetters(options: { limit: number }): Promise<DeadLetterRecord[]> {
    const rows = await this.#db.selectFrom('dead_letters').selectAll().orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      receiver: r.receiver,
      createdAt: r.created_ms,
      attempts: r.attempts,
      error: r.error,
      body: r.body,
    }));
  }

  async silences(options: { endedAfter: number }): Promise<SilenceRecord[]> {
    const rows = await this.#db.selectFrom('silences').selectAll().where('ends_ms', '>=', options.endedAfter).orderBy('id').execute();
    return rows.map((r) => ({
      id: r.id,
      matchers: JSON.parse(r.matchers) as SilenceMatcher[],
      startsAt: r.starts_ms,
      endsAt: r.ends_ms,
      createdAt: r.created_ms,
      createdBy: r.created_by,
      comment: r.comment,
    }));
  }

  async addSilence(silence: Omit<SilenceRecord, 'id'>): Promise<number> {
    const row = await this.#db
      .insertInto('silences')
      .values({
        matchers: JSON.stringify(silence.matchers),
        starts_ms: silence.startsAt,
        ends_ms: silence.endsAt,
        created_ms: silence.createdAt,
        created_by: silence.createdBy,
        comment: silence.comment,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async expireSilence(id: number, at: number): Promise<boolean> {
    const found = await this.#db.selectFrom('silences').select('id').where('id', '=', id).executeTakeFirst();
    if (found === undefined) return false;
    await this.#db.updateTable('silences').set({ ends_ms: at }).where('id', '=', id).where('ends_ms', '>', at).execute();
    return true;
  }

  async maintenance(): Promise<MaintenanceRecord[]> {
    const rows = await this.#db.selectFrom('maintenance').selectAll().orderBy('created_ms').orderBy('name').execute();
    return rows.map((r) => ({
      name: r.name,
      spec: JSON.parse(r.spec) as Record<string, unknown>,
      createdAt: r.created_ms,
      createdBy: r.created_by ?? undefined,
    }));
  }

  async putMaintenance(record: MaintenanceRecord): Promise<void> {
    const row = {
      name: record.name,
      spec: JSON.stringify(record.spec),
      created_ms: record.createdAt,
      created_by: record.createdBy ?? null,
    };
    await this.#db
      .insertInto('maintenance')
      .values(row)
      .onConflict((oc) => oc.column('name').doUpdateSet({ spec: row.spec, created_ms: row.created_ms, created_by: row.created_by }))
      .execute();
  }

  async deleteMaintenance(name: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('maintenance').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async incident(id: number): Promise<IncidentRecord | undefined> {
    const r = await this.#db
      .selectFrom('incidents as i')
      .innerJoin('components as c', 'c.id', 'i.component_id')
      .select(['i.id', 'c.name', 'i.start_ms', 'i.end_ms', 'i.error'])
      .where('i.id', '=', id)
      .executeTakeFirst();
    return r && { id: r.id, component: r.name, start: r.start_ms, end: r.end_ms, error: r.error };
  }

  async acknowledgeIncident(id: number, acknowledgement: Acknowledgement): Promise<IncidentRecord | undefined> {
    await this.#db
      .updateTable('incidents')
      .set({ acknowledged_ms: acknowledgement.at, acknowledged_by: acknowledgement.by })
      .where('id', '=', id)
      .where('acknowledged_ms', 'is', null)
      .execute();
    return this.incident(id);
  }

  async setPostmortem(id: number, url: string): Promise<IncidentRecord | undefined> {
    await this.#db.updateTable('incidents').set({ postmortem_url: url }).where('id', '=', id).execute();
    return this.incident(id);
  }

  async addIncidentUpdate(update: Omit<IncidentUpdateRecord, 'id'>): Promise<IncidentUpdateRecord | undefined> {
    // incidents are never deleted: one that exists now still does at the insert
    if ((await this.incident(update.incidentId)) === undefined) return undefined;
    const row = await this.#db
      .insertInto('incident_updates')
      .values({
        incident_id: update.incidentId,
        time_ms: update.time,
        visibility: update.visibility,
        status: update.status,
        message: update.message,
        author: update.by,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, ...update };
  }

  async incidentNotes(ids: readonly number[], options: { internal: boolean }): Promise<Map<number, IncidentNotes>> {
    const out = new Map<number, IncidentNotes>();
    for (const part of chunks([...new Set(ids)])) {
      const incidents = await this.#db
        .selectFrom('incidents')
        .select(['id', 'acknowledged_ms', 'acknowledged_by', 'postmortem_url'])
        .where('id', 'in', part)
        .execute();
      for (const r of incidents) {
        const acknowledged = r.acknowledged_ms === null ? null : { at: r.acknowledged_ms, by: r.acknowledged_by };
        out.set(r.id, { acknowledged, postmortem: r.postmortem_url, updates: [] });
      }
      let q = this.#db.selectFrom('incident_updates').selectAll().where('incident_id', 'in', part).orderBy('id', 'desc');
      if (!options.internal) q = q.where('visibility', '=', 'public');
      for (const u of await q.execute()) {
        out.get(u.incident_id)?.updates.push({
          id: u.id,
          incidentId: u.incident_id,
          time: u.time_ms,
          visibility: u.visibility === 'public' ? 'public' : 'internal',
          status: u.status as UpdateStatus | null,
          message: u.message,
          by: u.author,
        });
      }
    }
    return out;
  }

  async acknowledgedOpen(): Promise<Array<{ component: string; start: number }>> {
    const rows = await this.#db
      .selectFrom('incidents as i')
      .innerJoin('components as c', 'c.id', 'i.component_id')
      .select(['c.name', 'i.start_ms'])
      .where('i.end_ms', 'is', null)
      .where('i.acknowledged_ms', 'is not', null)
      .execute();
    return rows.map((r) => ({ component: r.name, start: r.start_ms }));
  }

  async timeline(component: string, from: number, to: number): Promise<{ incidents: IncidentRecord[]; gaps: Span[] }> {
    const id = await this.#idOf(this.#db, component);
    if (id === undefined) return { incidents: [], gaps: [] };
    // Half-open spans: touching at an edge is not overlapping; an open incident runs forever.
    const incidents = await this.#db
      .selectFrom('incidents')
      .select(['id', 'start_ms', 'end_ms', 'error'])
      .where('component_id', '=', id)
      .where('start_ms', '<', to)
      .where((eb) => eb.or([eb('end_ms', 'is', null), eb('end_ms', '>', from)]))
      .orderBy('start_ms')
      .execute();
    const gaps = await this.#db
      .selectFrom('gaps')
      .select(['from_ms', 'to_ms'])
      .where('component_id', '=', id)
      .where('from_ms', '<', to)
      .where('to_ms', '>', from)
      .orderBy('from_ms')
      .execute();
    return {
      incidents: incidents.map((r) => ({ id: r.id, component, start: r.start_ms, end: r.end_ms, error: r.error })),
      gaps: gaps.map((g) => ({ from: g.from_ms, to: g.to_ms })),
    };
  }

  /** Ordered by (time, id), so `next`, the last row's, continues exactly after it even among checks of one ms. */
  async checks(component: string, options: { limit: number; before?: number | ProbeCursor }): Promise<Page<ProbeRecord, ProbeCursor>> {
    const limit = checkInteger('limit', options.limit, 1);
    const id = await this.#idOf(this.#db, component);
    if (id === undefined) return { items: [], next: null };
    let q = this.#db
      .selectFrom('checks')
      .select(['id', 'time', 'duration_ms', 'status', 'error', 'scheduled_ms'])
      .where('component_id', '=', id)
      .orderBy('time', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1);
    const before = options.before;
    if (typeof before === 'number') q = q.where('time', '<', before);
    // `time <=` first: the (component_id, time) index bounds the scan, the id only breaks ties
    else if (before !== undefined) {
      q = q.where('time', '<=', before.time).where((eb) => eb.or([eb('time', '<', before.time), eb('id', '<', before.id)]));
    }
    const rows = await q.execute();
    const items: ProbeRecord[] = rows.slice(0, limit).map((r) => ({
      component,
      time: r.time,
      durationMs: r.duration_ms,
      status: STATUS_NAME[r.status] ?? 'unhealthy',
      ...(r.error === null ? {} : { error: r.error }),
      ...(r.scheduled_ms === null ? {} : { scheduledAt: Number(r.scheduled_ms) }),
    }));
    const last = rows[limit - 1];
    return { items, next: rows.length > limit && last !== undefined ? { time: last.time, id: last.id } : null };
  }

  /** Newest opened first (by id, which follows opening order); `next` is an incident id. */
  async incidents(options: { component?: string; since?: number; limit: number; before?: number }): Promise<Page<IncidentRecord>> {
    const limit = checkInteger('limit', options.limit, 1);
    let q = this.#db
      .selectFrom('incidents as i')
      .innerJoin('components as c', 'c.id', 'i.component_id')
      .select(['i.id', 'c.name', 'i.start_ms', 'i.end_ms', 'i.error'])
      .orderBy('i.id', 'desc')
      .limit(limit + 1);
    if (options.component !== undefined) q = q.where('c.name', '=', options.component);
    if (options.since !== undefined) q = q.where('i.start_ms', '>=', options.since);
    if (options.before !== undefined) q = q.where('i.id', '<', options.before);
    const rows = await q.execute();
    const items = rows.slice(0, limit).map((r) => ({ id: r.id, component: r.name, start: r.start_ms, end: r.end_ms, error: r.error }));
    return { items, next: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
  }

  /**
   * Exact counts; percentiles from the merged histogram (see histogram.ts). Windows whose edges
   * fall between minutes are exact only while raw rows are kept, and between hours only while
   * minute rollups are (30 days); whole hours are exact forever.
   */
  async checkStats(component: string, from: number, to: number): Promise<ProbeStats> {
    const [stats] = await this.checkSeries(component, from, to, Math.max(1, to - from));
    return stats ?? new Aggregate().stats();
  }

  /**
   * One query per stretch of adjacent segments of a source (hour rollups, minute rollups, raw
   * rows), never one over the gaps between them (30 days of raw rows between two partial minutes);
   * each row counted in the step it falls in; a rollup that straddles two steps is never read, its
   * step reads finer rows instead (planWindow per step).
   */
  async checkSeries(component: string, from: number, to: number, step: number): Promise<ProbeStats[]> {
    checkInteger('step', step, 1);
    const steps = Math.max(0, Math.ceil((to - from) / step));
    const aggs = Array.from({ length: steps }, () => new Aggregate());
    // One snapshot, so a compaction committing meanwhile cannot count a minute twice or not at all.
    await this.#db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const id = await this.#idOf(trx, component);
        if (id === undefined || steps === 0) return;
        const hourMark = (await readMark(trx, 'rollup_hour')) ?? Number.NEGATIVE_INFINITY;
        const minuteMark = (await readMark(trx, 'rollup_minute')) ?? Number.NEGATIVE_INFINITY;
        const plans = aggs.map((_, i) => planWindow(from + i * step, Math.min(to, from + (i + 1) * step), hourMark, minuteMark));
        /** The step whose plan reads `time` from `source`, or undefined. */
        const stepOf = (source: Segment['source'], time: number): Aggregate | undefined => {
          const i = Math.floor((time - from) / step);
          return plans[i]?.some((seg) => seg.source === source && seg.from <= time && time < seg.to) ? aggs[i] : undefined;
        };
        for (const source of ['hour', 'minute', 'raw'] as const) {
          for (const { from: lo, to: hi } of runsOf(plans.flat().filter((seg) => seg.source === source))) {
            if (source === 'raw') {
              const rows = await trx
                .selectFrom('checks')
                .select(['time', 'status', 'duration_ms'])
                .where('component_id', '=', id)
                .where('time', '>=', lo)
                .where('time', '<', hi)
                .execute();
              for (const r of rows) stepOf(source, r.time)?.addCheck(r.status, r.duration_ms);
            } else {
              const rows = await trx
                .selectFrom(source === 'hour' ? 'rollup_hour' : 'rollup_minute')
                .selectAll()
                .where('component_id', '=', id)
                .where('bucket_start_ms', '>=', lo)
                .where('bucket_start_ms', '<', hi)
                .execute();
              for (const r of rows) stepOf(source, r.bucket_start_ms)?.addRollup(r);
            }
          }
        }
      });
    return aggs.map((a) => a.stats());
  }

  compact(now: number, retentionMs: number, holdFrom?: number): Promise<void> {
    // One compaction at a time: the watermarks make a second one a no-op, not a conflict.
    const run = this.#compacting.then(() => compact(this.#db, this.#backend.capabilities, now, retentionMs, this.#lateMs, holdFrom));
    this.#compacting = run.catch(() => {});
    return run;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.#db);
  }

  size(): Promise<number> {
    return this.#backend.size();
  }

  close(): Promise<void> {
    return this.#db.destroy();
  }

  async #idOf(db: Db, name: string): Promise<number | undefined> {
    const cached = this.#ids.get(name);
    if (cached !== undefined) return cached;
    const row = await db.selectFrom('components').select('id').where('name', '=', name).executeTakeFirst();
    if (row) this.#ids.set(name, row.id);
    return row?.id;
  }

  /** Ids of `names`, inserting the new ones; the returned map is cached by the caller after commit. */
  async #resolveIds(trx: Transaction<Database>, names: Set<string>): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    const missing: string[] = [];
    for (const name of names) {
      const id = this.#ids.get(name);
      if (id === undefined) missing.push(name);
      else ids.set(name, id);
    }
    for (const batch of chunks(missing)) {
      await trx
        .insertInto('components')
        .values(batch.map((name) => ({ name })))
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const rows = await trx.selectFrom('components').select(['id', 'name']).where('name', 'in', batch).execute();
      for (const r of rows) ids.set(r.name, r.id);
    }
    return ids;
  }
}

/** `segments` (sorted by start) with touching ones joined: the stretches one query each reads. */
function runsOf(segments: Segment[]): Array<{ from: number; to: number }> {
  const out: Array<{ from: number; to: number }> = [];
  for (const seg of segments) {
    const last = out.at(-1);
    if (last !== undefined && last.to === seg.from) last.to = seg.to;
    else out.push({ from: seg.from, to: seg.to });
  }
  return out;
}
