import { abortable } from '../../core/abort.js';
import { InvalidOptionError } from '../../core/errors.js';
import { readable, redactUrl, secretsOf } from '../../core/redact.js';
import type { HealthCheck } from '../types.js';
import { since } from './util.js';

/** Anything that runs a query: a pg `Client` or `PoolClient`. */
export interface PgQueryable {
  query(text: string): Promise<{ rows: unknown[] }>;
}

/** What {@link postgres} needs of a pool: a `pg.Pool` fits, and so does anything with `query`. */
export interface PgPoolLike extends PgQueryable {
  /** When present (as on `pg.Pool`), each run checks out a client of its own, destroyed if the run is aborted. */
  connect?(): Promise<PgQueryable & { release(destroy?: boolean | Error): void }>;
  readonly totalCount?: number;
  readonly idleCount?: number;
  readonly waitingCount?: number;
}

/** Server version and, on a standby, the replication lag (0 when it has replayed all it received). */
const INFO_SQL = `SELECT current_setting('server_version') AS version, pg_is_in_recovery() AS in_recovery,
  CASE WHEN pg_is_in_recovery() THEN
    CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END
  END AS lag`;

interface InfoRow {
  version: string;
  in_recovery: boolean;
  lag: number | null;
}

/**
 * Runs `SELECT 1` on a pool (or on a fresh connection to a URL, loading `pg` only then, and always
 * closed). Details: `roundTripMs`, `serverVersion`, `pool` {total, idle, waiting} and `acquireMs` with
 * a pool, `replicationLagSeconds` on a standby. Errors never carry the password.
 */
export function postgres(poolOrUrl: PgPoolLike | string): HealthCheck {
  if (typeof poolOrUrl === 'string') return postgresUrl(checkUrl(poolOrUrl));
  if (typeof poolOrUrl?.query !== 'function' || (poolOrUrl.connect !== undefined && typeof poolOrUrl.connect !== 'function')) {
    throw new InvalidOptionError('poolOrUrl must be a pg.Pool (or anything with a query method) or a postgres:// URL');
  }
  const pool = poolOrUrl;
  return async ({ signal }) => {
    const counts = poolCounts(pool);
    try {
      const details = pool.connect ? await onOwnClient(pool.connect.bind(pool), signal) : await abortable(measure(pool), signal);
      return { details: counts ? { ...details, pool: counts } : details };
    } catch (error) {
      throw readable(error);
    }
  };
}

function postgresUrl(url: string): HealthCheck {
  const secrets = secretsOf(url);
  return async ({ signal }) => {
    signal.throwIfAborted();
    const { Client } = await import('pg');
    const client = new Client({ connectionString: url });
    client.on('error', () => {}); // a connection lost while ending must not become an uncaught 'error'
    // pg's end() sends Terminate and waits for the server to close, which a hung server never does:
    // an abort (even during that wait) or a failed run destroys the socket instead
    const kill = () => client.connection.stream.destroy();
    signal.addEventListener('abort', kill, { once: true });
    try {
      return {
        details: await abortable(
          client.connect().then(() => measure(client)),
          signal,
        ),
      };
    } catch (error) {
      kill();
      throw readable(error, secrets);
    } finally {
      await client.end().catch(() => {});
      signal.removeEventListener('abort', kill);
    }
  };
}

async function onOwnClient(connect: NonNullable<PgPoolLike['connect']>, signal: AbortSignal): Promise<Record<string, unknown>> {
  const start = performance.now();
  const acquiring = connect();
  // a client that arrives after an abort goes straight back to the pool
  const client = await abortable(
    acquiring,
    signal,
    () =>
      void acquiring.then(
        (c) => c.release(),
        () => {},
      ),
  );
  const acquireMs = since(start);
  let released = false;
  const release = (destroy?: Error) => {
    if (released) return;
    released = true;
    client.release(destroy);
  };
  try {
    // releasing with an error makes pg.Pool destroy the connection, which ends the running query
    const details = await abortable(measure(client), signal, () => release(new Error('health check aborted')));
    return { ...details, acquireMs };
  } finally {
    release();
  }
}

async function measure(db: PgQueryable): Promise<Record<string, unknown>> {
  const start = performance.now();
  await db.query('SELECT 1');
  const roundTripMs = since(start);
  const row = (await db.query(INFO_SQL)).rows[0] as InfoRow | undefined;
  const details: Record<string, unknown> = { roundTripMs, serverVersion: row?.version };
  if (row?.in_recovery) details.replicationLagSeconds = row.lag;
  return details;
}

function poolCounts(pool: PgPoolLike): { total: number; idle: number; waiting: number } | undefined {
  const { totalCount, idleCount, waitingCount } = pool;
  if (typeof totalCount !== 'number') return undefined;
  return { total: totalCount, idle: idleCount ?? 0, waiting: waitingCount ?? 0 };
}

function checkUrl(url: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new InvalidOptionError(`poolOrUrl must be a pg.Pool or a postgres:// URL, got ${JSON.stringify(redactUrl(url))}`);
  }
  return url;
}
