import { type Kysely, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import type { Backend, DialectName } from './backend.js';
import { UNSET } from './watermarks.js';

/**
 * The schema's history, in code so the package ships no SQL files. Append new migrations; never
 * edit one that has shipped. Both dialects run the same steps; only the auto-increment id differs.
 */
function migrations(dialect: DialectName): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('components')
          // SQLite: an INTEGER PRIMARY KEY is the rowid, already auto-assigned.
          .addColumn('id', 'integer', (c) => (dialect === 'sqlite' ? c.primaryKey() : c.primaryKey().generatedByDefaultAsIdentity()))
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .execute();

        // No id and no foreign key: a raw check must stay small (see size()).
        await db.schema
          .createTable('checks')
          .addColumn('component_id', 'integer', (c) => c.notNull())
          .addColumn('time', 'bigint', (c) => c.notNull())
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('status', 'smallint', (c) => c.notNull())
          .addColumn('error', 'text')
          .execute();
        await db.schema.createIndex('checks_component_time').on('checks').columns(['component_id', 'time']).execute();

        await db.schema
          .createTable('incidents')
          .addColumn('id', 'integer', (c) => (dialect === 'sqlite' ? c.primaryKey() : c.primaryKey().generatedByDefaultAsIdentity()))
          .addColumn('component_id', 'integer', (c) => c.notNull())
          .addColumn('start_ms', 'bigint', (c) => c.notNull())
          .addColumn('end_ms', 'bigint')
          .execute();
        // Unique: `resolved` names an incident by (component, start).
        await db.schema.createIndex('incidents_component_start').unique().on('incidents').columns(['component_id', 'start_ms']).execute();

        await db.schema
          .createTable('gaps')
          .addColumn('component_id', 'integer', (c) => c.notNull())
          .addColumn('from_ms', 'bigint', (c) => c.notNull())
          .addColumn('to_ms', 'bigint', (c) => c.notNull())
          .addCheckConstraint('gaps_span', sql`to_ms >= from_ms`)
          .execute();
        await db.schema.createIndex('gaps_component_from').on('gaps').columns(['component_id', 'from_ms']).execute();

        await db.schema
          .createTable('component_state')
          .addColumn('component_id', 'integer', (c) => c.primaryKey())
          .addColumn('first_check_ms', 'bigint', (c) => c.notNull())
          .addColumn('last_check_ms', 'bigint', (c) => c.notNull())
          .addColumn('tracker', 'text', (c) => c.notNull())
          .execute();

        for (const table of ['rollup_minute', 'rollup_hour']) {
          await db.schema
            .createTable(table)
            .addColumn('component_id', 'integer', (c) => c.notNull())
            .addColumn('bucket_start_ms', 'bigint', (c) => c.notNull())
            .addColumn('healthy', 'integer', (c) => c.notNull())
            .addColumn('degraded', 'integer', (c) => c.notNull())
            .addColumn('unhealthy', 'integer', (c) => c.notNull())
            .addColumn('latency_sum', 'bigint', (c) => c.notNull())
            .addColumn('latency_min', 'integer', (c) => c.notNull())
            .addColumn('latency_max', 'integer', (c) => c.notNull())
            .addColumn('histogram', 'text', (c) => c.notNull())
            .addPrimaryKeyConstraint(`${table}_pk`, ['component_id', 'bucket_start_ms'])
            // SQLite: the primary key is the table, not a second copy of it.
            .$call((t) => (dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
            .execute();
        }

        await db.schema
          .createTable('meta')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0002_incident_error': {
      // The error seen when an incident opened, kept with it: raw checks are pruned, incidents are not.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('incidents').addColumn('error', 'text').execute();
      },
    },
    '0003_watermark_rows': {
      // Rows from the start, so that a write of late checks can lock them even before the first fold.
      async up(db: Kysely<unknown>) {
        await sql`insert into meta (key, value) values ('rollup_minute_watermark', ${UNSET}), ('rollup_hour_watermark', ${UNSET})
          on conflict (key) do nothing`.execute(db);
      },
    },
    '0004_check_id': {
      // A row id, so pages of checks of one millisecond neither split nor repeat. SQLite: the
      // rowid made explicit (stable across VACUUM), which needs a copy of the table; the index
      // already holds it. PostgreSQL: 8 bytes more per row, not indexed (ties on time are few).
      async up(db: Kysely<unknown>) {
        if (dialect === 'postgres') {
          await db.schema
            .alterTable('checks')
            .addColumn('id', 'bigint', (c) => c.generatedByDefaultAsIdentity())
            .execute();
          return;
        }
        await sql`create table checks_new (id integer primary key, component_id integer not null, time bigint not null,
          duration_ms integer not null, status smallint not null, error text)`.execute(db);
        await sql`insert into checks_new (id, component_id, time, duration_ms, status, error)
          select rowid, component_id, time, duration_ms, status, error from checks`.execute(db);
        await db.schema.dropTable('checks').execute();
        await db.schema.alterTable('checks_new').renameTo('checks').execute();
        await db.schema.createIndex('checks_component_time').on('checks').columns(['component_id', 'time']).execute();
      },
    },
    '0005_alerts': {
      // Pending and firing alerts; resolved ones are deleted (their notifications are the record).
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('alerts')
          .addColumn('fingerprint', 'text', (c) => c.primaryKey())
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('annotations', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('active_ms', 'bigint', (c) => c.notNull())
          .addColumn('fired_ms', 'bigint')
          .addColumn('sent_ms', 'bigint')
          .execute();
      },
    },
    '0006_dead_letters': {
      // Notifications no receiver took: kept to be read (API) and re-sent by hand.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('dead_letters')
          .addColumn('id', 'integer', (c) => (dialect === 'sqlite' ? c.primaryKey() : c.primaryKey().generatedByDefaultAsIdentity()))
          .addColumn('receiver', 'text', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('error', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0007_maintenance': {
      // Maintenance windows made through the API (the config's live in the config); spec is the
      // window as the API took it (JSON), so the config's schema reads both.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('maintenance')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('spec', 'text', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text')
          .execute();
      },
    },
    '0008_incident_updates': {
      // What people add to an incident the monitor opened: an acknowledgement, a postmortem link, updates.
      async up(db: Kysely<unknown>) {
        // one column per statement: SQLite adds no more at once
        for (const column of ['acknowledged_ms', 'acknowledged_by', 'postmortem_url'] as const) {
          await db.schema
            .alterTable('incidents')
            .addColumn(column, column === 'acknowledged_ms' ? 'bigint' : 'text')
            .execute();
        }
        await db.schema
          .createTable('incident_updates')
          .addColumn('id', 'integer', (c) => (dialect === 'sqlite' ? c.primaryKey() : c.primaryKey().generatedByDefaultAsIdentity()))
          .addColumn('incident_id', 'integer', (c) => c.notNull())
          .addColumn('time_ms', 'bigint', (c) => c.notNull())
          .addColumn('visibility', 'text', (c) => c.notNull())
          .addColumn('status', 'text')
          .addColumn('message', 'text', (c) => c.notNull())
          .addColumn('author', 'text')
          .addCheckConstraint('incident_updates_visibility', sql`visibility in ('public', 'internal')`)
          .addCheckConstraint('incident_updates_message', sql`length(message) <= 5000`)
          .execute();
        await db.schema.createIndex('incident_updates_incident').on('incident_updates').columns(['incident_id', 'id']).execute();
      },
    },
    '0009_silences': {
      // Silences by label matchers, as Alertmanager keeps them: expired ones stay, to be read.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('silences')
          .addColumn('id', 'integer', (c) => (dialect === 'sqlite' ? c.primaryKey() : c.primaryKey().generatedByDefaultAsIdentity()))
          .addColumn('matchers', 'text', (c) => c.notNull())
          .addColumn('starts_ms', 'bigint', (c) => c.notNull())
          .addColumn('ends_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('comment', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('silences_ends').on('silences').column('ends_ms').execute();
      },
    },
    '0010_subscribers': {
      // Visitors subscribed to the status page. Tokens are stored as SHA-256 hex only; an
      // unsubscribe token is made per message (subscriber_tokens), since a hash cannot be put back
      // in the next message. subscriber_notices: what was announced once (a maintenance occurrence).
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('subscribers')
          .addColumn('id', 'integer', (c) => (dialect === 'sqlite' ? c.primaryKey() : c.primaryKey().generatedByDefaultAsIdentity()))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('secret', 'text')
          .addColumn('components', 'text')
          .addColumn('confirmed_ms', 'bigint')
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('confirm_hash', 'text')
          .addColumn('confirm_ms', 'bigint')
          .addColumn('pending', 'text')
          .addCheckConstraint('subscribers_kind', sql`kind in ('email', 'webhook')`)
          .execute();
        await db.schema.createIndex('subscribers_kind_address').unique().on('subscribers').columns(['kind', 'address']).execute();
        await db.schema.createIndex('subscribers_confirm_hash').on('subscribers').column('confirm_hash').execute();
        await db.schema
          .createTable('subscriber_tokens')
          .addColumn('hash', 'text', (c) => c.primaryKey())
          .addColumn('subscriber_id', 'integer', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('subscriber_tokens_subscriber').on('subscriber_tokens').column('subscriber_id').execute();
        await db.schema
          .createTable('subscriber_notices')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('sent_ms', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0011_check_slots': {
      // The slot of the component's grid a check ran for: one result per slot, whichever instance
      // of the highly available monitor ran it (nulls, checks run on demand, never conflict).
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('checks').addColumn('scheduled_ms', 'bigint').execute();
        await db.schema.createIndex('checks_component_slot').unique().on('checks').columns(['component_id', 'scheduled_ms']).execute();
      },
    },
    '0012_component_locations': {
      // The latest quorum verdict of a component (HA): followers show "1 of 3 locations failing" too.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('component_state').addColumn('locations', 'text').execute();
      },
    },
  };
}

/** Brings the backend's schema to the latest version (or to the migration named `to`, for tests of upgrades); a no-op when it already is. */
export async function migrate(backend: Backend, to?: string): Promise<void> {
  const migrator = new Migrator({
    db: backend.db,
    provider: { getMigrations: async () => migrations(backend.dialect) },
    ...(backend.schema === undefined ? {} : { migrationTableSchema: backend.schema }),
  });
  const { error } = await (to === undefined ? migrator.migrateToLatest() : migrator.migrateTo(to));
  if (error) throw error;
}
