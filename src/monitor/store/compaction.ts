import type { Kysely, Transaction } from 'kysely';
import type { StoreCapabilities } from './backend.js';
import { floorTo, HOUR, MINUTE } from './plan.js';
import { Aggregate } from './rollup.js';
import type { Database, RollupTable } from './schema.js';
import { lockOn, readMark, setMark, type Watermark } from './watermarks.js';

const MINUTE_ROLLUP_RETENTION = 30 * 24 * HOUR;
/** Span folded per transaction, so a long backlog never holds the write lock (or memory) for long. */
const FOLD_SPAN = 6 * HOUR;
/** Rows per INSERT, well under SQLite's and PostgreSQL's bind-parameter limits. */
const CHUNK = 500;

type Db = Kysely<Database> | Transaction<Database>;

/** `items` in slices of at most `size`, one INSERT each. */
export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The store's compact(): see the Store interface. `lateMs` keeps minutes open for checks still on
 * their way; a check written later still is merged into the rollups by the write (late.ts).
 */
export async function compact(
  db: Kysely<Database>,
  capabilities: StoreCapabilities,
  now: number,
  retentionMs: number,
  lateMs: number,
  holdFrom = Infinity,
): Promise<void> {
  const minuteMark = await fold(db, capabilities, 'rollup_minute', floorTo(Math.min(now - lateMs, holdFrom), MINUTE));
  if (minuteMark === undefined) return;
  const hourMark = await fold(db, capabilities, 'rollup_hour', floorTo(minuteMark, HOUR));
  const ids = (await db.selectFrom('components').select('id').execute()).map((r) => r.id);
  if (ids.length === 0) return;
  // Never delete what is not rolled up yet, whatever the retention says.
  const rawCut = Math.min(now - retentionMs, minuteMark);
  await db.deleteFrom('checks').where('component_id', 'in', ids).where('time', '<', rawCut).execute();
  if (hourMark !== undefined) {
    const minuteCut = Math.min(now - MINUTE_ROLLUP_RETENTION, hourMark);
    await db.deleteFrom('rollup_minute').where('component_id', 'in', ids).where('bucket_start_ms', '<', minuteCut).execute();
  }
}

/**
 * Folds the source of `table` (raw checks for minutes, minute rollups for hours) up to `target`,
 * FOLD_SPAN per transaction that also moves the watermark: a crash or a second run never counts
 * a bucket twice. Returns the watermark, undefined while there is nothing to fold yet.
 */
async function fold(db: Kysely<Database>, capabilities: StoreCapabilities, table: Watermark, target: number): Promise<number | undefined> {
  const step = table === 'rollup_minute' ? MINUTE : HOUR;
  for (;;) {
    const result = await db.transaction().execute(async (trx) => {
      // Locked first and the rest read after: a write that has checks of this span in flight
      // either commits before (and is read here) or sees the new watermark (and merges them itself).
      const marked = await readMark(trx, table, lockOn(capabilities, 'update'));
      // Read under the lock too: a component created meanwhile would otherwise be skipped for good.
      const ids = (await trx.selectFrom('components').select('id').execute()).map((r) => r.id);
      if (ids.length === 0) return { mark: marked, done: true };
      const mark = marked ?? (await firstBucket(trx, table, ids, step));
      if (mark === undefined || mark >= target) return { mark, done: true };
      const end = Math.min(target, mark + FOLD_SPAN);
      const buckets = new Map<string, { id: number; start: number; agg: Aggregate }>();
      const bucket = (id: number, time: number) => {
        const start = floorTo(time, step);
        const key = `${id}:${start}`;
        let b = buckets.get(key);
        if (!b) {
          b = { id, start, agg: new Aggregate() };
          buckets.set(key, b);
        }
        return b.agg;
      };
      if (table === 'rollup_minute') {
        const rows = await trx
          .selectFrom('checks')
          .select(['component_id', 'time', 'status', 'duration_ms'])
          .where('component_id', 'in', ids)
          .where('time', '>=', mark)
          .where('time', '<', end)
          .execute();
        for (const r of rows) bucket(r.component_id, r.time).addCheck(r.status, r.duration_ms);
      } else {
        const rows = await trx
          .selectFrom('rollup_minute')
          .selectAll()
          .where('component_id', 'in', ids)
          .where('bucket_start_ms', '>=', mark)
          .where('bucket_start_ms', '<', end)
          .execute();
        for (const r of rows) bucket(r.component_id, r.bucket_start_ms).addRollup(r);
      }
      const rows: RollupTable[] = [...buckets.values()].map((b) => b.agg.toRow(b.id, b.start));
      for (const chunk of chunks(rows)) await trx.insertInto(table).values(chunk).execute();
      await setMark(trx, table, end);
      return { mark: end, done: end >= target };
    });
    if (result.done) return result.mark;
  }
}

/** Start of the first bucket with data to fold into `table`, found per component so the index serves it. */
async function firstBucket(trx: Db, table: Watermark, ids: number[], step: number): Promise<number | undefined> {
  let first: number | undefined;
  for (const id of ids) {
    const row =
      table === 'rollup_minute'
        ? await trx.selectFrom('checks').select('time as t').where('component_id', '=', id).orderBy('time').limit(1).executeTakeFirst()
        : await trx
            .selectFrom('rollup_minute')
            .select('bucket_start_ms as t')
            .where('component_id', '=', id)
            .orderBy('bucket_start_ms')
            .limit(1)
            .executeTakeFirst();
    if (row && (first === undefined || row.t < first)) first = row.t;
  }
  return first === undefined ? undefined : floorTo(first, step);
}
