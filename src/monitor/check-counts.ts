import { FAILURE_RATE_WINDOWS } from '../config/index.js';

/** Slots per window: a read sums the last ones, so it spans between 59/60 of its window and all of it. */
const SLOTS = 60;

/** The windows counts are kept over, by label. */
export type CheckCountWindow = keyof typeof FAILURE_RATE_WINDOWS;

/** Checks, and how many failed (unhealthy), over a window. */
export interface CheckCount {
  total: number;
  failed: number;
}

/** One window's counts in {@link SLOTS} slots of window / SLOTS ms each (5 s for 5m), reused round-robin: fixed memory. */
class Ring {
  readonly #slotMs: number;
  /** Which slot (time / slotMs) each position holds now. */
  readonly #ids = new Float64Array(SLOTS).fill(Number.NEGATIVE_INFINITY);
  readonly #total = new Uint32Array(SLOTS);
  readonly #failed = new Uint32Array(SLOTS);

  constructor(windowMs: number) {
    this.#slotMs = windowMs / SLOTS;
  }

  add(time: number, failed: boolean): void {
    const id = Math.floor(time / this.#slotMs);
    const i = id % SLOTS;
    const held = this.#ids[i] as number;
    if (id < held) return; // older than the whole window: a newer slot took its place
    if (id > held) {
      this.#ids[i] = id;
      this.#total[i] = 0;
      this.#failed[i] = 0;
    }
    this.#total[i] = (this.#total[i] as number) + 1;
    if (failed) this.#failed[i] = (this.#failed[i] as number) + 1;
  }

  /** Where the span {@link read} sums at `now` begins: the start of the SLOTS - 1 slots before the one holding `now`. */
  from(now: number): number {
    return (Math.floor(now / this.#slotMs) - SLOTS + 1) * this.#slotMs;
  }

  /** The slot holding `now` and the SLOTS - 1 before it. */
  read(now: number): CheckCount {
    const current = Math.floor(now / this.#slotMs);
    const out = { total: 0, failed: 0 };
    for (let i = 0; i < SLOTS; i++) {
      const id = this.#ids[i] as number;
      if (id > current - SLOTS && id <= current) {
        out.total += this.#total[i] as number;
        out.failed += this.#failed[i] as number;
      }
    }
    return out;
  }
}

interface Entry {
  /** The first check counted: a span beginning before it cannot tell. */
  since: number;
  rings: Record<CheckCountWindow, Ring>;
}

const WINDOWS = Object.entries(FAILURE_RATE_WINDOWS) as Array<[CheckCountWindow, number]>;

/**
 * Each component's checks and failures over the failure-rate windows, counted as the monitor
 * records them, for the `failureRate` rule: about 5 kB per component, no store read. Memory only,
 * so after a (re)start a window cannot tell until this run has counted it whole (a warm-up of 59/60
 * of the window, at most an hour); the stored raw checks could seed it, at a query per component
 * at every start.
 */
export class CheckCounts {
  readonly #entries = new Map<string, Entry>();

  /** Counts one check of `component` that ran at `time`. */
  record(component: string, time: number, failed: boolean): void {
    let entry = this.#entries.get(component);
    if (entry === undefined) {
      const rings = Object.fromEntries(WINDOWS.map(([label, ms]) => [label, new Ring(ms)])) as Entry['rings'];
      entry = { since: time, rings };
      this.#entries.set(component, entry);
    }
    for (const [label] of WINDOWS) entry.rings[label].add(time, failed);
  }

  /** The counts of `component` over `window` ending at `now`; undefined while the span read began before the first check counted, or holds none. */
  count(component: string, window: CheckCountWindow, now: number): CheckCount | undefined {
    const entry = this.#entries.get(component);
    if (entry === undefined || entry.since > entry.rings[window].from(now)) return undefined;
    const count = entry.rings[window].read(now);
    return count.total === 0 ? undefined : count;
  }

  /** Forgets `component` (removed from the config). */
  drop(component: string): void {
    this.#entries.delete(component);
  }
}
