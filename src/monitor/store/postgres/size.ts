import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema.js';

/** Bytes of every table of the current schema, with its indexes and TOAST. */
export async function postgresSize(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ bytes: number }>`
    select coalesce(sum(pg_total_relation_size(c.oid)), 0) as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')`.execute(db);
  return Number(rows[0]?.bytes ?? 0);
}
