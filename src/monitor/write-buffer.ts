import type { Span } from './figures.js';
import { type RejectedRow, writeSplitting } from './store/split-write.js';
import type { ComponentState, Fenced, ProbeRecord, Store, WriteBatch, WriteOutcome } from './store/types.js';

/** Options of {@link WriteBuffer}. */
export interface WriteBufferOptions {
  store: Store;
  /** Raw results held while the store cannot be written; past it the oldest are dropped (see `MonitorOptions.maxBufferedChecks`). */
  maxBufferedChecks: number;
  /** The state to save for a component whose results were buffered; undefined before its first result. */
  stateOf: (component: string) => ComponentState | undefined;
  /** `checks` raw results were dropped, oldest first. */
  onDropped: (checks: number) => void;
  /** The database refused one row for its data: it is set aside, never retried. */
  onRejected: (row: RejectedRow) => void;
  /** The store could not be reached; everything not written stays buffered for the next flush. */
  onOutage: (error: unknown) => void;
  /** The HA instance the rows are recorded by (see `WriteBatch.owner`); undefined on one node. */
  owner?: string | undefined;
  /** A write left rows out on purpose: slots already stored, rows under a fence since taken over. */
  onLeftOut?: (outcome: WriteOutcome) => void;
}

type Fence = number | undefined;

const emptyBatch = (owner?: string): WriteBatch => ({ checks: [], opened: [], resolved: [], gaps: [], states: [], owner });

/**
 * What the monitor has recorded and the store has not taken yet: batching, one flush at a time,
 * retry after an outage (what is left goes back in front), the poison-row split, and a cap on raw
 * results so a long outage cannot exhaust memory. Incidents, gaps and states are never dropped.
 */
export class WriteBuffer {
  readonly #o: WriteBufferOptions;
  #batch: WriteBatch;
  /** Components whose state is to be written, each with the fence of its latest row. */
  #dirty = new Map<string, Fence>();
  #flushing: Promise<void> | undefined;
  /** The flush after the one in flight, shared by every caller meanwhile. */
  #nextFlush: Promise<void> | undefined;
  /** Checks of the write in flight: they are not stored yet either. */
  #writing: readonly ProbeRecord[] = [];

  constructor(options: WriteBufferOptions) {
    this.#o = options;
    this.#batch = emptyBatch(options.owner);
  }

  /** Buffers one raw result of `record.component`, recorded under `fence` (HA; undefined on one node). */
  check(record: ProbeRecord, fence?: Fence): void {
    this.#batch.checks.push(fenced(record, fence));
    this.#dirty.set(record.component, fence);
    this.#cap();
  }

  /** Marks `component`'s state to be written with the next flush (it changed without a new result). */
  state(component: string, fence?: Fence): void {
    this.#dirty.set(component, fence);
  }

  /** Buffers an incident opened at `start`. */
  opened(component: string, start: number, error: string | undefined, fence?: Fence): void {
    this.#batch.opened.push(fenced({ component, start, error }, fence));
  }

  /** Buffers the end of the incident of `component` that started at `start`. */
  resolved(component: string, start: number, end: number, fence?: Fence): void {
    this.#batch.resolved.push(fenced({ component, start, end }, fence));
  }

  /** Buffers a gap in the monitor's observation of `component`. */
  gap(component: string, gap: Span, fence?: Fence): void {
    this.#batch.gaps.push(fenced({ component, ...gap }, fence));
  }

  /** The start of the oldest raw result not yet stored (buffered or being written), or `bound` if that is older. */
  oldestUnwritten(bound: number): number {
    let oldest = bound;
    for (const check of this.#batch.checks) oldest = Math.min(oldest, check.time);
    for (const check of this.#writing) oldest = Math.min(oldest, check.time);
    return oldest;
  }

  /**
   * Writes what is buffered. Resolves once everything buffered before the call was tried: a flush
   * already in flight took its batch earlier, so callers meanwhile share one more after it.
   */
  flush(): Promise<void> {
    if (this.#flushing === undefined) return this.#flushNow();
    this.#nextFlush ??= this.#flushing.then(() => {
      this.#nextFlush = undefined;
      return this.#flushNow();
    });
    return this.#nextFlush;
  }

  #flushNow(): Promise<void> {
    this.#flushing = this.#write().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #write(): Promise<void> {
    if (this.#dirty.size === 0 && this.#batch.checks.length === 0) return;
    const batch = this.#batch;
    const dirty = this.#dirty;
    this.#batch = emptyBatch(this.#o.owner);
    this.#dirty = new Map();
    batch.states = [...dirty].flatMap(([name, fence]) => {
      const s = this.#o.stateOf(name);
      return s ? [fenced(s, fence)] : [];
    });
    this.#writing = batch.checks;
    const { rejected, outage, duplicates, stale } = await writeSplitting(this.#o.store, batch);
    this.#writing = [];
    for (const row of rejected) this.#o.onRejected(row);
    if (duplicates > 0 || stale > 0) this.#o.onLeftOut?.({ duplicates, stale });
    if (outage === undefined) return;
    // keep what is left for the next flush, in front of what arrived meanwhile; state is rebuilt then
    const rest = outage.rest;
    this.#batch = {
      checks: [...rest.checks, ...this.#batch.checks],
      opened: [...rest.opened, ...this.#batch.opened],
      resolved: [...rest.resolved, ...this.#batch.resolved],
      gaps: [...rest.gaps, ...this.#batch.gaps],
      states: [],
      owner: this.#o.owner,
    };
    // a component recorded again meanwhile keeps its newer fence
    for (const [name, fence] of dirty) if (!this.#dirty.has(name)) this.#dirty.set(name, fence);
    this.#cap();
    this.#o.onOutage(outage.error);
  }

  /** Drops the oldest buffered checks past the cap, down to 90 % of it so that dropping is rare. */
  #cap(): void {
    const checks = this.#batch.checks;
    const max = this.#o.maxBufferedChecks;
    if (checks.length <= max) return;
    const excess = checks.length - Math.floor(max * 0.9);
    checks.splice(0, excess);
    this.#o.onDropped(excess);
  }
}

/** `row` with its fence, or as it is when there is none (one node: no field added per row). */
function fenced<T extends object>(row: T, fence: Fence): T & Fenced {
  return fence === undefined ? row : { ...row, fence };
}
