import { Cron } from 'croner';
import type { Registry } from 'prom-client';
import { METRICS, metric } from '../metrics/index.js';
import { type BackupContext, type CreateOptions, createBackup, repositoryOf } from './backup.js';
import { BackupError } from './errors.js';
import type { Manifest } from './manifest.js';
import { pruneRepository } from './prune.js';

/** What the last backup of a target did, for metrics, the API and the `backup` alert rule. */
export interface TargetBackupState {
  target: string;
  /** Wall-clock ms the newest complete backup ended; undefined when there is none. */
  lastSuccess: number | undefined;
  /** Its id. */
  lastId: string | undefined;
  /** The last failure's message (without secrets), cleared by a success. */
  lastError: string | undefined;
  /** True while a backup of it runs. */
  running: boolean;
}

/** Options of {@link BackupSchedules}. */
export interface BackupSchedulesOptions {
  context: BackupContext;
  /** Where the backup metrics go (`nines serve`'s `/metrics`). */
  registry: Registry;
  /** Told of a failed backup (the schedule carries on). */
  onError?: (target: string, error: unknown) => void;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/**
 * The backups `nines serve` takes: each target with a `schedule` on its cron (UTC; one run at a
 * time per target, a run still going when the next is due skips it), and any target on demand. The
 * state starts from the repository (its newest complete backup per target), so a restart keeps the
 * truth, and is exported as `nines_backup_last_success_timestamp_seconds{target}` (0 before the
 * first), `nines_backup_duration_seconds`, `nines_backup_size_bytes` (the last success's) and
 * `nines_backup_failures_total`. With `backup.retention`, each scheduled success prunes its target.
 */
export class BackupSchedules {
  readonly #o: BackupSchedulesOptions;
  readonly #state = new Map<string, TargetBackupState>();
  readonly #crons: Cron[] = [];
  readonly #runs = new Set<Promise<unknown>>();
  readonly #metrics;

  /** A backup run's context: the config's `backup:` and where its key comes from. */
  get context(): BackupContext {
    return this.#o.context;
  }

  constructor(options: BackupSchedulesOptions) {
    this.#o = options;
    const r = options.registry;
    this.#metrics = {
      last: metric(
        r,
        'gauge',
        METRICS.backupLastSuccessTimestampSeconds,
        'Unix time (s) the newest complete backup of the target ended; 0 for none',
        ['target'],
      ),
      duration: metric(r, 'gauge', METRICS.backupDurationSeconds, 'Seconds the last successful backup of the target took', ['target']),
      size: metric(r, 'gauge', METRICS.backupSizeBytes, 'Bytes stored by the last successful backup of the target', ['target']),
      failures: metric(r, 'counter', METRICS.backupFailuresTotal, 'Backups of the target that failed', ['target']),
    };
    for (const target of Object.keys(options.context.config.targets)) {
      this.#state.set(target, { target, lastSuccess: undefined, lastId: undefined, lastError: undefined, running: false });
      this.#metrics.last.labels(target).set(0);
      this.#metrics.failures.labels(target).inc(0);
    }
  }

  /** Reads the newest backup of each target from the repository, then starts the schedules. */
  async start(): Promise<void> {
    const all = await repositoryOf(this.#o.context).list();
    for (const manifest of all) if (this.#state.has(manifest.target)) this.#succeeded(manifest);
    for (const [target, config] of Object.entries(this.#o.context.config.targets)) {
      const cron = (pattern: string, options: CreateOptions) =>
        this.#crons.push(new Cron(pattern, { timezone: 'UTC', protect: true }, () => this.#scheduled(target, options)));
      if (config.schedule !== undefined) cron(config.schedule, {});
      if (config.type === 'files' && config.incremental !== undefined) cron(config.incremental, { type: 'incremental' });
    }
  }

  /** Each target's state, by name. */
  states(): TargetBackupState[] {
    return [...this.#state.values()].map((s) => ({ ...s }));
  }

  /** The state of `target`; undefined when it is not a configured target. */
  state(target: string): TargetBackupState | undefined {
    const s = this.#state.get(target);
    return s === undefined ? undefined : { ...s };
  }

  /**
   * Starts a backup of `target` now and resolves with its manifest. A {@link BackupError}
   * `NINES_BACKUP_NOT_FOUND` for an unknown target; `NINES_BACKUP_FAILED` at once while one runs.
   */
  run(target: string, options: CreateOptions = {}): Promise<Manifest> {
    const state = this.#state.get(target);
    if (state === undefined) return createBackup(this.#o.context, target, options); // createBackup names the configured ones
    if (state.running) return Promise.reject(new BackupError('NINES_BACKUP_FAILED', `a backup of ${target} is already running`));
    state.running = true;
    const started = Date.now();
    return this.#track(
      createBackup(this.#o.context, target, options)
        .then(
          (manifest) => {
            this.#succeeded(manifest, (Date.now() - started) / 1000);
            return manifest;
          },
          (error: unknown) => {
            state.lastError = error instanceof Error ? error.message : String(error);
            this.#metrics.failures.labels(target).inc();
            throw error;
          },
        )
        .finally(() => {
          state.running = false;
        }),
    );
  }

  /** Stops the schedules and waits for the backups running. */
  async stop(): Promise<void> {
    for (const c of this.#crons.splice(0)) c.stop();
    await Promise.allSettled([...this.#runs]);
  }

  /** One scheduled run: the backup, then the target's retention; tracked whole, so `stop` waits for the prune too. */
  #scheduled(target: string, options: CreateOptions): Promise<void> {
    return this.#track(
      (async () => {
        try {
          await this.run(target, options);
          const retention = this.#o.context.config.retention;
          if (retention !== undefined) await pruneRepository(this.#o.context, retention, { target, confirm: true });
        } catch (error) {
          this.#o.onError?.(target, error);
        }
      })(),
    );
  }

  /** `work`, held in the runs `stop` waits for until it settles. */
  #track<T>(work: Promise<T>): Promise<T> {
    const settled: Promise<unknown> = work.then(
      () => this.#runs.delete(settled),
      () => this.#runs.delete(settled),
    );
    this.#runs.add(settled);
    return work;
  }

  #succeeded(manifest: Manifest, durationS?: number): void {
    const state = this.#state.get(manifest.target);
    if (state === undefined) return;
    const end = Date.parse(manifest.endedAt);
    if (state.lastSuccess !== undefined && state.lastSuccess > end) return;
    state.lastSuccess = end;
    state.lastId = manifest.id;
    state.lastError = undefined;
    this.#metrics.last.labels(manifest.target).set(seconds(manifest.endedAt));
    this.#metrics.size.labels(manifest.target).set(manifest.sizes.stored);
    this.#metrics.duration.labels(manifest.target).set(durationS ?? seconds(manifest.endedAt) - seconds(manifest.startedAt));
  }
}
