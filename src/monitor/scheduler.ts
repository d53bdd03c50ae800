import { type Clock, systemClock, type TimerHandle } from '../policy/clock.js';
import { checkNumber } from '../policy/validate.js';

/** Figures of one scheduled job. */
export interface JobStats {
  name: string;
  intervalMs: number;
  runs: number;
  /** Ticks skipped because the previous run was still going. */
  skipped: number;
  /** ms between when the latest run was due and when it started. */
  lastLagMs: number;
}

interface Job {
  name: string;
  interval: number;
  run: () => Promise<unknown>;
  due: number;
  timer: TimerHandle | undefined;
  running: boolean;
  runs: number;
  skipped: number;
  lastLag: number;
}

/** FNV-1a: a stable spread of first runs, the same for a name across restarts. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Runs each job every `interval` at a fixed rate. First runs are spread over the interval by a hash
 * of the name (no thundering herd at start); a job never runs twice at once (a tick that finds it
 * still running is skipped, not queued); the lag of every start is measured.
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #jobs = new Map<string, Job>();
  readonly #onLag: ((name: string, lagMs: number) => void) | undefined;
  #stopped = false;

  constructor(options: { clock?: Clock; onLag?: (name: string, lagMs: number) => void } = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#onLag = options.onLag;
  }

  /** Schedules `run` every `intervalMs`; replaces a job of the same name. */
  add(name: string, intervalMs: number, run: () => Promise<unknown>): void {
    checkNumber('interval', intervalMs, 1);
    this.remove(name);
    const now = this.#clock.now();
    const job: Job = {
      name,
      interval: intervalMs,
      run,
      due: now + (hash(name) % intervalMs),
      timer: undefined,
      running: false,
      runs: 0,
      skipped: 0,
      lastLag: 0,
    };
    this.#jobs.set(name, job);
    this.#arm(job, now);
  }

  /** Stops scheduling `name`; a run in progress finishes on its own. */
  remove(name: string): boolean {
    const job = this.#jobs.get(name);
    job?.timer?.clear();
    return this.#jobs.delete(name);
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
      lastLagMs: j.lastLag,
    }));
  }

  /** Stops every job; runs in progress finish on their own. */
  stop(): void {
    this.#stopped = true;
    for (const job of this.#jobs.values()) job.timer?.clear();
    this.#jobs.clear();
  }

  #arm(job: Job, now: number): void {
    if (this.#stopped) return;
    job.timer = this.#clock.setTimeout(() => this.#tick(job), Math.max(0, job.due - now));
  }

  #tick(job: Job): void {
    if (this.#jobs.get(job.name) !== job) return;
    const now = this.#clock.now();
    if (job.running) job.skipped++;
    else {
      job.running = true;
      job.runs++;
      job.lastLag = now - job.due;
      this.#onLag?.(job.name, job.lastLag);
      job
        .run()
        .catch(() => undefined) // a job reports its own failures; the schedule must go on
        .finally(() => {
          job.running = false;
        });
    }
    // Fixed rate: the next slot after now, skipping the ones a stall made us miss.
    job.due += job.interval * Math.max(1, Math.ceil((now - job.due + 1) / job.interval));
    this.#arm(job, now);
  }
}
