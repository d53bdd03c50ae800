import { redactText, secretsOf } from '../../core/redact.js';
import { BackupError } from '../errors.js';

/** How a PostgreSQL tool reaches a database: the URL without its password, which goes in `PGPASSWORD` instead of the command line. */
export interface Libpq {
  /** The connection URL without the password: safe in `ps`. */
  url: string;
  /** `PGPASSWORD` when the URL had one. */
  env: NodeJS.ProcessEnv;
  /** What to scrub from tool output and errors. */
  secrets: string[];
  /** Database name. */
  database: string;
  /** `host:port`. */
  server: string;
}

/** Splits a connection URL for the PostgreSQL tools. */
export function libpq(url: string): Libpq {
  const u = new URL(url);
  const secrets = secretsOf(url);
  const env: NodeJS.ProcessEnv = {};
  if (u.password !== '') env.PGPASSWORD = decodeURIComponent(u.password);
  u.password = '';
  return {
    url: u.toString(),
    env,
    secrets,
    database: decodeURIComponent(u.pathname.slice(1)),
    server: `${u.hostname}:${u.port || '5432'}`,
  };
}

type Client = { query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>; end(): Promise<void> };

/** Runs `fn` with a connected client of `url` (pg is loaded here, only by backups of PostgreSQL). */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client as unknown as Client);
  } finally {
    await client.end();
  }
}

/** The database name and server version, for the manifest. */
export async function serverInfo(url: string): Promise<{ database: string; serverVersion: string; bytes: number }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ database: string; version: string; bytes: string }>(
      'select current_database() as database, current_setting($1) as version, pg_database_size(current_database())::text as bytes',
      ['server_version'],
    );
    const row = rows[0] as { database: string; version: string; bytes: string };
    return { database: row.database, serverVersion: row.version, bytes: Number(row.bytes) };
  }).catch((error: unknown) => {
    throw new BackupError('NINES_BACKUP_FAILED', `cannot connect to ${redactText(url, secretsOf(url))}: ${redact(error, url)}`, {
      cause: error,
    });
  });
}

/** The URL of the server's `postgres` database, from which other databases are created and dropped. */
export function adminUrl(url: string): string {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  return admin.toString();
}

/** Relations outside the system schemas: any makes the database "not empty". */
const USER_RELATIONS = `select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`;

/**
 * Gets the target database ready for a restore: creates it when it does not exist (through the
 * server's `postgres` database), and refuses one that holds any table, view or sequence unless `force`.
 */
export async function prepareTarget(url: string, force: boolean): Promise<void> {
  const { database } = libpq(url);
  let relations: number;
  try {
    relations = await withClient(url, async (c) => (await c.query<{ n: number }>(USER_RELATIONS)).rows[0]?.n ?? 0);
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw connectError(url, error);
    await withClient(adminUrl(url), (c) => c.query(`create database "${database.replaceAll('"', '""')}"`)).catch((e: unknown) => {
      throw connectError(url, e);
    });
    return;
  }
  if (relations > 0 && !force)
    throw new BackupError(
      'NINES_RESTORE_REFUSED',
      `database ${database} is not empty (${relations} relations): restore into a new database, or add --force to restore over it (pg_restore --clean)`,
    );
}

function connectError(url: string, error: unknown): BackupError {
  return new BackupError('NINES_BACKUP_FAILED', `${redactText(url, secretsOf(url))}: ${redact(error, url)}`, { cause: error });
}

function redact(error: unknown, url: string): string {
  return redactText(error instanceof Error ? error.message : String(error), secretsOf(url));
}
