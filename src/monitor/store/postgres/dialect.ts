import { Socket } from 'node:net';
import { type DatabaseIntrospector, Kysely, PostgresDialect, type SchemaMetadata, sql, type TableMetadata } from 'kysely';
import type { Backend, StoreCapabilities } from '../backend.js';
import type { Database } from '../schema.js';
import { postgresSize } from './size.js';

/** A server many processes write to through pools: row locks, LISTEN/NOTIFY and advisory locks. */
const POSTGRES_CAPABILITIES: StoreCapabilities = Object.freeze({
  concurrentWriters: true,
  supportsRowLocks: true,
  supportsListenNotify: true,
  supportsAdvisoryLocks: true,
});

const INT8 = 20;
const NUMERIC = 1700;

/**
 * Connects a pool to `url`; with `schema`, creates it if missing and puts it first on every
 * connection's search_path. A connection that sends nothing for `timeoutMs` while nines waits on it
 * is cut, and so is waiting that long to connect or for a free connection: behind a network
 * partition a query gets no answer and no error, and one hung write would stop every flush after it.
 */
export async function createPostgresBackend(url: string, schema: string | undefined, timeoutMs: number): Promise<Backend> {
  // Loaded here, not at the top, so a SQLite user never loads pg.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    keepAlive: true,
    stream: () => {
      const socket = new Socket();
      // an idle pooled connection cut this way leaves the pool (its 'error' below); at the default
      // 15 s the pool's own 10 s idle timeout closes it first
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer from PostgreSQL within ${timeoutMs} ms`)));
      return socket;
    },
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    // Times are bigint ms and sums are numeric: both fit a double, so read them as numbers (for
    // this pool only; the global pg parsers stay untouched).
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 || oid === NUMERIC ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection the server dropped: the pool replaces it on the next query.
  pool.on('error', () => {});
  // A connection lost while checked out (between a transaction's queries) emits 'error' on its
  // client, and with no listener that would end the process: the query that uses it fails instead,
  // and the pool discards it on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    if (schema !== undefined) await pool.query(`create schema if not exists "${schema}"`);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db = new Kysely<Database>({ dialect: new ScopedPostgresDialect({ pool }, schema) });
  return { dialect: 'postgres', capabilities: POSTGRES_CAPABILITIES, db, schema, size: () => postgresSize(db) };
}

/**
 * Kysely's PostgreSQL introspector, which its migrator asks whether the migration tables exist,
 * reads every schema of the database and calls `has_schema_privilege` by name on each: a schema
 * another client drops meanwhile fails the query ("schema … does not exist"), so one instance's
 * cleanup could fail another's start. This one reads only the store's own schema, by name once.
 */
class ScopedPostgresDialect extends PostgresDialect {
  readonly #schema: string | undefined;

  constructor(config: ConstructorParameters<typeof PostgresDialect>[0], schema: string | undefined) {
    super(config);
    this.#schema = schema;
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    const schema = this.#schema;
    const own = schema === undefined ? sql`current_schema()` : sql`${schema}`;
    const getSchemas = async (): Promise<SchemaMetadata[]> => {
      const { rows } = await sql<{ name: string }>`select nspname as name from pg_namespace where nspname = ${own}`.execute(db);
      return rows;
    };
    const getTables = async (): Promise<TableMetadata[]> => {
      const { rows } = await sql<{ name: string; schema: string }>`select c.relname as name, n.nspname as schema
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${own} and c.relkind in ('r', 'v', 'p', 'f')`.execute(db);
      return rows.map((r) => ({ name: r.name, schema: r.schema, isView: false, isForeign: false, columns: [] }));
    };
    return { getSchemas, getTables };
  }
}
