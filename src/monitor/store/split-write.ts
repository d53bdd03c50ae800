import { refusedData } from './refused.js';
import type { Store, WriteBatch, WriteOutcome } from './types.js';

/** The kinds of rows a batch holds; `resolved` closes an incident, so it counts as one. */
export const ROW_KINDS = ['check', 'incident', 'gap', 'state'] as const;
/** One of {@link ROW_KINDS}. */
export type RowKind = (typeof ROW_KINDS)[number];

/** A row the database refused on its own, set aside for good. */
export interface RejectedRow {
  kind: RowKind;
  component: string;
  /** The store's error (its message is already free of passwords). */
  error: unknown;
}

/** What {@link writeSplitting} did: rows set aside, what the store left out on purpose (summed over the parts), and on an outage what is still to be written. */
export interface SplitOutcome extends WriteOutcome {
  rejected: RejectedRow[];
  /** Set when the database could not be reached: `rest` is every row not yet written, to retry. */
  outage?: { error: unknown; rest: WriteBatch };
}

const LISTS = ['opened', 'resolved', 'gaps', 'checks', 'states'] as const;
type List = (typeof LISTS)[number];
const KIND: Record<List, RowKind> = { opened: 'incident', resolved: 'incident', gaps: 'gap', checks: 'check', states: 'state' };
const INT32_MAX = 2 ** 31 - 1;

// a part keeps its batch's owner: every part is fenced as the whole would be
const empty = (owner: string | undefined): WriteBatch => ({ checks: [], opened: [], resolved: [], gaps: [], states: [], owner });

/**
 * Writes `batch`; if the database refuses it for its data, splits it and writes the parts, so the
 * good rows land and each offending row, once alone, is set aside. Parts land in dependency order
 * (opened before resolved, incidents before the state that names them), so a `resolved` never
 * lands before its `opened`. An outage stops the split: what is left comes back as `rest`.
 */
export async function writeSplitting(store: Store, batch: WriteBatch): Promise<SplitOutcome> {
  const done: SplitOutcome = { rejected: [], duplicates: 0, stale: 0 };
  const { rejected } = done;
  const queue: WriteBatch[] = [clean(batch)];
  while (queue.length > 0) {
    const part = queue[0] as WriteBatch;
    try {
      const outcome = await store.write(part);
      done.duplicates += outcome.duplicates;
      done.stale += outcome.stale;
      queue.shift();
    } catch (error) {
      if (!refusedData(error)) return { ...done, outage: { error, rest: merge(queue, batch.owner) } };
      queue.shift();
      const parts = split(part);
      if (parts !== undefined) queue.unshift(...parts);
      else rejected.push(...single(part, error));
    }
  }
  return done;
}

/**
 * A refused batch in parts: events apart from checks (events stay one transaction while they can),
 * then each list apart in dependency order, then halves; undefined for a single row.
 */
function split(batch: WriteBatch): WriteBatch[] | undefined {
  const present = LISTS.filter((list) => batch[list].length > 0);
  const none = empty(batch.owner);
  if (present.includes('checks') && present.length > 1) {
    return [
      { ...batch, checks: [] },
      { ...none, checks: batch.checks },
    ];
  }
  if (present.length > 1) return present.map((list) => ({ ...none, [list]: batch[list] }));
  const list = present[0];
  if (list === undefined || batch[list].length < 2) return undefined;
  const rows: unknown[] = batch[list];
  const half = Math.ceil(rows.length / 2);
  return [
    { ...none, [list]: rows.slice(0, half) },
    { ...none, [list]: rows.slice(half) },
  ];
}

/** The one row of `batch`, as set aside. */
function single(batch: WriteBatch, error: unknown): RejectedRow[] {
  return LISTS.flatMap((list) => batch[list].map((row) => ({ kind: KIND[list], component: row.component, error })));
}

/** The parts in `queue` as one batch, in the order they were to land. */
function merge(queue: WriteBatch[], owner: string | undefined): WriteBatch {
  const out = empty(owner);
  for (const part of queue) for (const list of LISTS) (out[list] as unknown[]).push(...part[list]);
  return out;
}

/**
 * `batch` without what a database is known to refuse: NUL characters in error text (PostgreSQL
 * text cannot hold them) and durations outside an integer column (NaN, negative, over 24 days).
 */
function clean(batch: WriteBatch): WriteBatch {
  const text = (error: string | undefined) => (error?.includes('\u0000') ? error.replaceAll('\u0000', '') : error);
  return {
    ...batch,
    checks: batch.checks.map((c) => {
      const durationMs = Number.isFinite(c.durationMs) ? Math.min(INT32_MAX, Math.max(0, Math.round(c.durationMs))) : 0;
      const error = text(c.error);
      return durationMs === c.durationMs && error === c.error ? c : { ...c, durationMs, error };
    }),
    opened: batch.opened.map((o) => {
      const error = text(o.error);
      return error === o.error ? o : { ...o, error };
    }),
  };
}
