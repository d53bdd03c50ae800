import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { checkNumber } from '../core/validate.js';
import { type Ownership, singleNode } from './ownership.js';

/** Figures of one scheduled job. */
export interface JobStats {
  name: string;
  intervalMs: number;
  runs: number;
  /** Ticks skipped because the previous run was still going. */
  skipped: number;
  /** Times the job was found owned by another instance (see {@link Ownership}) and parked; always 0 on one node. */
  notOwned: number;
  /** ms between when the latest run was due and when it started. */
  lastLagMs: number;
}

interface Job {
  name: string;
  interval: number;
  // the slot it runs for: its due time on the grid, not when it started (a late start keeps its slot)
  run: (slot: number) => Promise<unknown>;
  due: number;
  /** Order of scheduling, so jobs due at the same ms start in the order they were added. */
  seq: number;
  running: boolean;
  /** Found not owned: out of the heap until {@link Scheduler.wake} or the next poll finds it owned. */
  parked: boolean;
  runs: number;
  skipped: number;
  notOwned: number;
  lastLag: number;
}

/** FNV-1a: a stable spread of first runs, the same for a name across restarts. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The first slot at or after `now` of `name`'s grid: every `interval` from the epoch, offset by a
 * hash of the name. The grid is the same in every process, so an instance taking a component over
 * (the highly available monitor) continues its predecessor's check times, and a restart keeps them.
 */
export function firstSlot(name: string, interval: number, now: number): number {
  const offset = hash(name) % interval;
  return now + ((((offset - now) % interval) + interval) % interval);
}

/** How often parked jobs are asked whether they are owned now, all in one timer. */
export const PARK_POLL_MS = 1000;

const before = (a: Job, b: Job): boolean => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/**
 * Runs each job every `interval` at a fixed rate, on a grid per job fixed from the epoch and spread
 * over the interval by a hash of the name (no thundering herd at start; see {@link firstSlot}); a job never runs twice at once (a tick that finds it
 * still running is skipped, not queued); a tick of a job another instance owns is skipped too; the
 * lag of every start is measured.
 *
 * One timer serves every job: the jobs wait in a heap by due time and the timer is set for the
 * earliest. A timer per job would live a whole interval and, at a thousand jobs, outlive the young
 * generation's scavenges every time; this one lives until the next start.
 *
 * A job found owned by another instance at its slot is parked: out of the heap, so an HA instance's
 * timer fires for its own share only (a timer per slot of every component cost each instance as
 * much CPU as checking them all). Parked jobs are asked again together every {@link PARK_POLL_MS},
 * and at once by {@link Scheduler.wake}; one found owned resumes at its next slot on its grid.
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #jobs = new Map<string, Job>();
  readonly #onLag: ((name: string, lagMs: number) => void) | undefined;
  readonly #ownership: Ownership;
  /** Binary min-heap of the jobs by (due, seq). */
  readonly #heap: Job[] = [];
  readonly #fire = () => this.#runDue();
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #parked = new Set<Job>();
  #poll: TimerHandle | undefined;
  #seq = 0;
  #stopped = false;

  constructor(options: { clock?: Clock; onLag?: (name: string, lagMs: number) => void; ownership?: Ownership } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#onLag = options.onLag;
    this.#ownership = options.ownership ?? singleNode;
  }

  /** Schedules `run` every `intervalMs`, given the grid time (slot) it runs for; replaces a job of the same name. */
  add(name: string, intervalMs: number, run: (slot: number) => Promise<unknown>): void {
    checkNumber('interval', intervalMs, 1);
    this.remove(name);
    const now = this.#clock.now();
    const job: Job = {
      name,
      interval: intervalMs,
      run,
      due: firstSlot(name, intervalMs, now),
      seq: this.#seq++,
      running: false,
      parked: false,
      runs: 0,
      skipped: 0,
      notOwned: 0,
      lastLag: 0,
    };
    this.#jobs.set(name, job);
    this.#push(job);
    this.#arm(now);
  }

  /** Stops scheduling `name`; a run in progress finishes on its own. */
  remove(name: string): boolean {
    const job = this.#jobs.get(name);
    if (job === undefined) return false;
    this.#jobs.delete(name);
    this.#parked.delete(job);
    const heap = this.#heap;
    const i = heap.indexOf(job); // -1 while its own run is starting
    if (i !== -1) {
      const last = heap.pop() as Job;
      if (i < heap.length) {
        heap[i] = last;
        this.#down(i);
        this.#up(i);
      }
    }
    this.#arm(this.#clock.now());
    return true;
  }

  /** Names of the scheduled jobs. */
  get names(): string[] {
    return [...this.#jobs.keys()];
  }

  /** Figures per job. */
  stats(): JobStats[] {
    return [...this.#jobs.values()].map((j) => ({
      name: j.name,
      intervalMs: j.interval,
      runs: j.runs,
      skipped: j.skipped,
      notOwned: j.notOwned,
      lastLagMs: j.lastLag,
    }));
  }

  /** Stops every job; runs in progress finish on their own. */
  stop(): void {
    this.#stopped = true;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#poll?.clear();
    this.#poll = undefined;
    this.#jobs.clear();
    this.#parked.clear();
    this.#heap.length = 0;
  }

  /** Resumes, each at its next slot, the parked jobs this instance owns now (call it when leases are gained). */
  wake(): void {
    if (this.#stopped || this.#parked.size === 0) return;
    const now = this.#clock.now();
    for (const job of [...this.#parked]) {
      if (!this.#ownership.owns(job.name)) continue;
      this.#parked.delete(job);
      job.parked = false;
      job.due = firstSlot(job.name, job.interval, now);
      job.seq = this.#seq++;
      this.#push(job);
    }
    this.#arm(now);
    if (this.#parked.size === 0) {
      this.#poll?.clear();
      this.#poll = undefined;
    }
  }

  #park(job: Job): void {
    job.parked = true;
    this.#parked.add(job);
    this.#armPoll();
  }

  /** One timer asks every parked job again, while any is parked. */
  #armPoll(): void {
    if (this.#poll !== undefined || this.#parked.size === 0 || this.#stopped) return;
    this.#poll = this.#clock.setTimeout(() => {
      this.#poll = undefined;
      this.wake();
      this.#armPoll();
    }, PARK_POLL_MS);
    this.#poll.unref();
  }

  /** Sets the timer for the earliest job, unless it is already set for that time. */
  #arm(now: number): void {
    const next = this.#heap[0];
    const at = next === undefined || this.#stopped ? Number.POSITIVE_INFINITY : next.due;
    if (at === this.#timerAt && this.#timer !== undefined) return;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#timerAt = at;
    if (at !== Number.POSITIVE_INFINITY) this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, at - now));
  }

  /** Starts every job that is due, each rescheduled to its next slot, then sets the timer again. */
  #runDue(): void {
    this.#timer = undefined;
    let now = this.#clock.now();
    while ((this.#heap[0]?.due ?? Number.POSITIVE_INFINITY) <= now) {
      const job = this.#pop();
      this.#tick(job, now);
      // unless its run removed or replaced it, or it was parked
      if (this.#jobs.get(job.name) === job && !job.parked) this.#push(job);
      now = this.#clock.now();
    }
    this.#arm(now);
  }

  #tick(job: Job, now: number): void {
    if (job.running) job.skipped++;
    else if (!this.#ownership.owns(job.name)) {
      job.notOwned++;
      this.#park(job);
      return;
    } else {
      job.running = true;
      job.runs++;
      job.lastLag = now - job.due;
      this.#onLag?.(job.name, job.lastLag);
      job
        .run(job.due)
        .catch(() => undefined) // a job reports its own failures; the schedule must go on
        .finally(() => {
          job.running = false;
        });
    }
    // Fixed rate: the next slot after now, skipping the ones a stall made us miss.
    job.due += job.interval * Math.max(1, Math.ceil((now - job.due + 1) / job.interval));
    job.seq = this.#seq++;
  }

  #pop(): Job {
    const heap = this.#heap;
    const top = heap[0] as Job;
    const last = heap.pop() as Job;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
    return top;
  }

  #push(job: Job): void {
    this.#heap.push(job);
    this.#up(this.#heap.length - 1);
  }

  #up(index: number): void {
    const heap = this.#heap;
    let i = index;
    const job = heap[i] as Job;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(job, heap[parent] as Job)) break;
      heap[i] = heap[parent] as Job;
      i = parent;
    }
    heap[i] = job;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const n = heap.length;
    if (index >= n) return;
    let i = index;
    const job = heap[i] as Job;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1] as Job, heap[child] as Job)) child++;
      if (!before(heap[child] as Job, job)) break;
      heap[i] = heap[child] as Job;
      i = child;
    }
    heap[i] = job;
  }
}
