import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema.js';

/** Bytes of the database file: page_count * page_size, after moving the WAL into it. */
export async function sqliteSize(db: Kysely<Database>): Promise<number> {
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  const count = await sql<{ page_count: number }>`pragma page_count`.execute(db);
  const size = await sql<{ page_size: number }>`pragma page_size`.execute(db);
  return (count.rows[0]?.page_count ?? 0) * (size.rows[0]?.page_size ?? 0);
}
