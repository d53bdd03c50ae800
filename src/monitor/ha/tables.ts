import { InvalidOptionError } from '../../core/errors.js';
import type { PgClient, PgPool, PgResult } from '../../core/pg.js';
import { checkInteger, checkString } from '../../core/validate.js';

/** What the leases need of a query result: a pg result fits. */
export type LeaseResult = PgResult;

/** What the leases need of a pooled client: a pg `PoolClient` fits. */
export type LeaseClient = PgClient;

/** What the leases need of a pool: a pg `Pool` fits. */
export type LeasePool = PgPool;

/** The qualified names of the two tables, the NOTIFY channel and the DDL creating them. */
export interface LeaseTables {
  instances: string;
  leases: string;
  channel: string;
  create: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,47}$/;

/** The HA tables of `schema` (the store's), created idempotently by {@link LeaseManager.start}. */
export function haTables(schema: string): LeaseTables {
  if (!SCHEMA.test(checkString('schema', schema))) throw new InvalidOptionError(`schema must match ${SCHEMA}, got ${schema}`);
  const instances = `"${schema}".nines_ha_instances`;
  const leases = `"${schema}".nines_ha_leases`;
  return {
    instances,
    leases,
    // at most 9 + 48 characters: PostgreSQL cuts identifiers at 63, and LISTEN would hear another channel
    channel: `nines_ha_${schema}`,
    // one implicit transaction; the lock keeps instances starting together from racing on the catalog
    create: `SELECT pg_advisory_xact_lock(hashtext('nines_ha_' || '${schema}'));
      CREATE SCHEMA IF NOT EXISTS "${schema}";
      CREATE TABLE IF NOT EXISTS ${instances} (
        instance text PRIMARY KEY, location text NOT NULL, expires_at timestamptz NOT NULL, started_at timestamptz NOT NULL);
      CREATE TABLE IF NOT EXISTS ${leases} (
        component text PRIMARY KEY, owner text, fence bigint NOT NULL, expires_at timestamptz NOT NULL);`,
  };
}

/**
 * A condition that holds only while `owner` holds `component`'s lease under fence `fence` and the
 * lease has not expired on PostgreSQL's clock: `INSERT ... SELECT ... WHERE <guard>` or
 * `UPDATE ... WHERE ... AND <guard>` then writes nothing for a stale writer (one whose component was
 * taken over, so its fence moved on). Its three parameters are `$first` (component), `$first + 1`
 * (owner) and `$first + 2` (fence). The lease row is read `FOR SHARE`, so a takeover waits for the
 * write's transaction and the write never lands after a newer owner's.
 */
export function fenceGuard(schema: string, first: number): string {
  checkInteger('first', first, 1);
  return `EXISTS (SELECT 1 FROM ${haTables(schema).leases} WHERE component = $${first} AND owner = $${first + 1}
    AND fence = $${first + 2} AND expires_at > now() FOR SHARE)`;
}
