import type { Transaction } from 'kysely';
import type { StoreCapabilities } from './backend.js';
import { chunks } from './compaction.js';
import { floorTo, HOUR, MINUTE } from './plan.js';
import { Aggregate } from './rollup.js';
import type { ChecksTable, Database } from './schema.js';
import { lockOn, readMark, type Watermark } from './watermarks.js';

type Check = Omit<ChecksTable, 'id' | 'error'>;
type Buckets = Map<string, { id: number; start: number; agg: Aggregate }>;

/**
 * Counts checks written after their minute (or hour) was folded in the rollups of their bucket,
 * in the write's transaction: a flush in flight during a compaction, a write that hung on a
 * partition, a store outage longer than `lateMs`. The watermarks are read locked (PostgreSQL), so
 * a fold either commits first and this sees its watermark, or waits and then reads these checks.
 */
export async function mergeLate(trx: Transaction<Database>, capabilities: StoreCapabilities, checks: readonly Check[]): Promise<void> {
  if (checks.length === 0) return;
  const minuteMark = await readMark(trx, 'rollup_minute', lockOn(capabilities, 'share'));
  if (minuteMark === undefined) return;
  const hourMark = (await readMark(trx, 'rollup_hour', lockOn(capabilities, 'share'))) ?? Number.NEGATIVE_INFINITY;
  const minutes: Buckets = new Map();
  const hours: Buckets = new Map();
  for (const c of checks) {
    // hourMark <= minuteMark: a check before the hour's watermark is before the minute's too
    if (c.time < minuteMark) add(minutes, c, MINUTE);
    if (c.time < hourMark) add(hours, c, HOUR);
  }
  await mergeInto(trx, capabilities, 'rollup_minute', minutes);
  await mergeInto(trx, capabilities, 'rollup_hour', hours);
}

function add(buckets: Buckets, c: Check, step: number): void {
  const start = floorTo(c.time, step);
  const key = `${c.component_id}:${start}`;
  let b = buckets.get(key);
  if (!b) {
    b = { id: c.component_id, start, agg: new Aggregate() };
    buckets.set(key, b);
  }
  b.agg.addCheck(c.status, c.duration_ms);
}

/**
 * Adds each bucket to its stored row: inserts the buckets that have none, then merges the rest
 * into their rows read `for update` (a concurrent write of the same bucket waits, never lost).
 */
async function mergeInto(trx: Transaction<Database>, capabilities: StoreCapabilities, table: Watermark, buckets: Buckets): Promise<void> {
  const pending = new Map(buckets);
  // in key order, as the selects below lock: two writes of the same buckets never deadlock
  const sorted = [...buckets.values()].sort((x, y) => x.id - y.id || x.start - y.start);
  for (const rows of chunks(sorted.map((b) => b.agg.toRow(b.id, b.start)))) {
    const inserted = await trx
      .insertInto(table)
      .values(rows)
      .onConflict((oc) => oc.columns(['component_id', 'bucket_start_ms']).doNothing())
      .returning(['component_id', 'bucket_start_ms'])
      .execute();
    for (const r of inserted) pending.delete(`${r.component_id}:${r.bucket_start_ms}`);
  }
  const stored = sorted.filter((b) => pending.has(`${b.id}:${b.start}`));
  for (const [id, list] of Map.groupBy(stored, (b) => b.id)) {
    for (const some of chunks(list)) {
      const q = trx
        .selectFrom(table)
        .selectAll()
        .where('component_id', '=', id)
        .where(
          'bucket_start_ms',
          'in',
          some.map((b) => b.start),
        )
        .orderBy('bucket_start_ms');
      const rows = await (lockOn(capabilities, 'update') === undefined ? q : q.forUpdate()).execute();
      for (const row of rows) {
        const b = pending.get(`${id}:${row.bucket_start_ms}`) as { agg: Aggregate };
        b.agg.addRollup(row);
        await trx
          .updateTable(table)
          .set(b.agg.toRow(id, row.bucket_start_ms))
          .where('component_id', '=', id)
          .where('bucket_start_ms', '=', row.bucket_start_ms)
          .execute();
      }
    }
  }
}
