import type { Kysely, Transaction } from 'kysely';
import type { StoreCapabilities } from './backend.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A rollup table; its watermark is the start of the first bucket not folded into it yet. */
export type Watermark = 'rollup_minute' | 'rollup_hour';

/** How a transaction locks a watermark row: a fold `update`, a write of late checks `share`. */
export type MarkLock = 'share' | 'update' | undefined;

/**
 * Stored before the first fold. The rows exist from migration 0003 on, so that a write can lock
 * them even then (a missing row cannot be locked, and a fold would slip past the write). Never
 * change it: migration 0003 stored it.
 */
export const UNSET = Number.MIN_SAFE_INTEGER;

/** The meta key of `table`'s watermark. */
export function markKey(table: Watermark): string {
  return `${table}_watermark`;
}

/**
 * `mode` where writers run concurrently (PostgreSQL: READ COMMITTED, a pool of connections), so a
 * fold and a write of late checks must each see the other's result; none with one writer (SQLite,
 * whose transactions kysely runs one at a time on its single connection).
 */
export function lockOn(capabilities: StoreCapabilities, mode: 'share' | 'update'): MarkLock {
  return capabilities.concurrentWriters && capabilities.supportsRowLocks ? mode : undefined;
}

/** The watermark of `table`, locked until commit with `lock`: every bucket before it is folded; undefined before the first fold. */
export async function readMark(db: Db, table: Watermark, lock?: MarkLock): Promise<number | undefined> {
  const q = db.selectFrom('meta').select('value').where('key', '=', markKey(table));
  const row = await (lock === 'update' ? q.forUpdate() : lock === 'share' ? q.forShare() : q).executeTakeFirst();
  return row === undefined || row.value === UNSET ? undefined : row.value;
}

/** Moves the watermark of `table` to `value`. */
export async function setMark(db: Db, table: Watermark, value: number): Promise<void> {
  await db
    .insertInto('meta')
    .values({ key: markKey(table), value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}
