import { Cron } from 'croner';
import type { Registry } from 'prom-client';
import { systemClock } from '../core/clock.js';
import { messageOf, redactText, redactUrl, secretsOf } from '../core/redact.js';
import { METRICS, metric } from '../metrics/index.js';
import { type BackupContext, type CreateOptions, createBackup, repositoryOf, restoreBackup } from './backup.js';
import { type DrillReport, drillBackup, lastDrill } from './drill.js';
import { BackupError } from './errors.js';
import type { Manifest } from './manifest.js';
import { pruneRepository, type RepositoryPrunePlan } from './prune.js';

/** How the last restore of a target's backup (through the API) went. */
export interface RestoreReport {
  backupId: string;
  /** Where it went; a URL without its password. */
  to: string;
  startedAt: string;
  endedAt: string;
  seconds: number;
  ok: boolean;
  /** Why it failed (without secrets). */
  error?: string;
}

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
  /** The last restore drill's report; undefined before the first. */
  lastDrill: DrillReport | undefined;
  /** Wall-clock ms the last successful drill ended; undefined when none has succeeded. */
  lastDrillSuccess: number | undefined;
  /** True while a drill of it runs. */
  drilling: boolean;
  /** The last restore's report; undefined before the first. */
  lastRestore: RestoreReport | undefined;
  /** True while a restore of one of its backups runs. */
  restoring: boolean;
}

/** Options of {@link BackupSchedules}. */
export interface BackupSchedulesOptions {
  context: BackupContext;
  /** Where the backup metrics go (`nines serve`'s `/metrics`). */
  registry: Registry;
  /** Told of a failed backup (the schedule carries on). */
  onError?: (target: string, error: unknown) => void;
  /** Told of a scheduled drill that failed or found differences (the schedule carries on). */
  onDrillFailed?: (target: string, error: unknown) => void;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/**
 * The backups `nines serve` takes: each target with a `schedule` on its cron (UTC; one run at a
 * time per target, a run still going when the next is due skips it), and any target on demand. The
 * state starts from the repository (its newest complete backup per target), so a restart keeps the
 * truth, and is exported as `nines_backup_last_success_timestamp_seconds{target}` (0 before the
 * first), `nines_backup_duration_seconds`, `nines_backup_size_bytes` (the last success's) and
 * `nines_backup_failures_total`. With `backup.retention`, each scheduled success prunes its target.
 * Each target with a `drill` cron is drilled on it (`nines_backup_drill_recovery_seconds`,
 * `…_drill_last_success_timestamp_seconds`, `…_drill_last_timestamp_seconds`, `…_drill_failures_total`,
 * started from the kept reports). A target's backups, prunes and drills run one after another, so a
 * prune never removes the backup being drilled.
 */
export class BackupSchedules {
  readonly #o: BackupSchedulesOptions;
  readonly #state = new Map<string, TargetBackupState>();
  readonly #crons: Cron[] = [];
  readonly #runs = new Set<Promise<unknown>>();
  /** Per target, the end of its queue of backups, prunes and drills. */
  readonly #queues = new Map<string, Promise<unknown>>();
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
      drillRecovery: metric(
        r,
        'gauge',
        METRICS.backupDrillRecoverySeconds,
        'Seconds the last restore drill of the target took to restore and compare',
        ['target'],
      ),
      drillSuccess: metric(
        r,
        'gauge',
        METRICS.backupDrillLastSuccessTimestampSeconds,
        'Unix time (s) the last successful restore drill of the target ended; 0 for none',
        ['target'],
      ),
      drillLast: metric(
        r,
        'gauge',
        METRICS.backupDrillLastTimestampSeconds,
        'Unix time (s) the last restore drill of the target ended, successful or not; 0 for none',
        ['target'],
      ),
      drillFailures: metric(
        r,
        'counter',
        METRICS.backupDrillFailuresTotal,
        'Restore drills of the target that failed or found differences',
        ['target'],
      ),
    };
    for (const target of Object.keys(options.context.config.targets)) {
      this.#state.set(target, {
        target,
        lastSuccess: undefined,
        lastId: undefined,
        lastError: undefined,
        running: false,
        lastDrill: undefined,
        lastDrillSuccess: undefined,
        drilling: false,
        lastRestore: undefined,
        restoring: false,
      });
      this.#metrics.last.labels(target).set(0);
      this.#metrics.failures.labels(target).inc(0);
      this.#metrics.drillSuccess.labels(target).set(0);
      this.#metrics.drillLast.labels(target).set(0);
      this.#metrics.drillFailures.labels(target).inc(0);
    }
  }

  /** Reads the newest backup of each target from the repository, then starts the schedules. */
  async start(): Promise<void> {
    const all = await repositoryOf(this.#o.context).list();
    for (const manifest of all) if (this.#state.has(manifest.target)) this.#succeeded(manifest);
    for (const target of this.#state.keys()) {
      const ok = await lastDrill(this.#o.context, target, true);
      if (ok !== undefined) this.#drilled(ok);
      const last = await lastDrill(this.#o.context, target);
      if (last !== undefined && last.id !== ok?.id) this.#drilled(last);
    }
    for (const [target, config] of Object.entries(this.#o.context.config.targets)) {
      const cron = (expr: string, fn: () => Promise<void>) => this.#crons.push(new Cron(expr, { timezone: 'UTC', protect: true }, fn));
      if (config.schedule !== undefined) cron(config.schedule, () => this.#scheduled(target, {}));
      if (config.type === 'files' && config.incremental !== undefined)
        cron(config.incremental, () => this.#scheduled(target, { type: 'incremental' }));
      if (config.drill !== undefined)
        cron(config.drill, () =>
          this.drill(target).then(
            (report) => {
              if (!report.ok) this.#o.onDrillFailed?.(target, new BackupError('NINES_BACKUP_FAILED', report.differences.join('; ')));
            },
            (error: unknown) => this.#o.onDrillFailed?.(target, error),
          ),
        );
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
    return this.#backup(target, options, false);
  }

  /**
   * Starts a restore drill of `target` now (after the target's backup or prune running, if any) and
   * resolves with its report. A {@link BackupError} `NINES_BACKUP_NOT_FOUND` for an unknown target;
   * `NINES_BACKUP_FAILED` at once while one runs.
   */
  drill(target: string): Promise<DrillReport> {
    const state = this.#state.get(target);
    if (state === undefined) return drillBackup(this.#o.context, target); // names the configured ones
    if (state.drilling) return Promise.reject(new BackupError('NINES_BACKUP_FAILED', `a drill of ${target} is already running`));
    state.drilling = true;
    const failed = () => {
      this.#metrics.drillFailures.labels(target).inc();
    };
    return this.#track(
      this.#queued(target, () => drillBackup(this.#o.context, target))
        .then(
          (report) => {
            if (!report.ok) failed();
            this.#drilled(report);
            return report;
          },
          async (error: unknown) => {
            failed();
            const report = await lastDrill(this.#o.context, target);
            if (report !== undefined && report.error !== undefined) this.#drilled(report);
            throw error;
          },
        )
        .finally(() => {
          state.drilling = false;
        }),
    );
  }

  /**
   * Restores backup `manifest` into `to` (see {@link restoreBackup}) in its target's queue, and
   * resolves with the report, failed or not. A {@link BackupError} `NINES_BACKUP_FAILED` at once while
   * a restore of the target runs.
   */
  restore(manifest: Manifest, to: string, force = false): Promise<RestoreReport> {
    const state = this.#state.get(manifest.target);
    if (state?.restoring)
      return Promise.reject(new BackupError('NINES_BACKUP_FAILED', `a restore of ${manifest.target} is already running`));
    if (state !== undefined) state.restoring = true;
    const clock = this.#o.context.clock ?? systemClock;
    return this.#track(
      this.#queued(manifest.target, async () => {
        const started = clock.now();
        const ended = (error?: unknown): RestoreReport => {
          const end = clock.now();
          return {
            backupId: manifest.id,
            to: redactUrl(to),
            startedAt: new Date(started).toISOString(),
            endedAt: new Date(end).toISOString(),
            seconds: (end - started) / 1000,
            ok: error === undefined,
            ...(error === undefined ? {} : { error: redactText(messageOf(error), secretsOf(to)) }),
          };
        };
        return restoreBackup(this.#o.context, manifest.id, to, force).then(() => ended(), ended);
      }).then((report) => {
        if (state !== undefined) Object.assign(state, { lastRestore: report, restoring: false });
        return report;
      }),
    );
  }

  /**
   * Applies `backup.retention` to `target`'s backups (or to each target's, one after the other) in
   * its queue; removes nothing unless `confirm`. A {@link BackupError} `NINES_BACKUP_FAILED` when no
   * retention is configured.
   */
  async prune(target: string | undefined, confirm: boolean): Promise<RepositoryPrunePlan> {
    const retention = this.#o.context.config.retention;
    if (retention === undefined)
      throw new BackupError('NINES_BACKUP_FAILED', 'no backup.retention is configured: nothing says what to keep');
    const targets =
      target !== undefined
        ? [target]
        : [...new Set([...this.#state.keys(), ...(await repositoryOf(this.#o.context).list()).map((m) => m.target)])];
    const decisions: RepositoryPrunePlan['decisions'] = [];
    for (const t of targets)
      decisions.push(...(await this.#queued(t, () => pruneRepository(this.#o.context, retention, { target: t, confirm }))).decisions);
    return { decisions, removed: confirm };
  }

  /** A backup of `target`, then (when `prune`) the target's retention, both in the target's queue. */
  #backup(target: string, options: CreateOptions, prune: boolean): Promise<Manifest> {
    const state = this.#state.get(target);
    if (state === undefined) return createBackup(this.#o.context, target, options); // createBackup names the configured ones
    if (state.running) return Promise.reject(new BackupError('NINES_BACKUP_FAILED', `a backup of ${target} is already running`));
    state.running = true;
    return this.#track(
      this.#queued(target, async () => {
        const started = Date.now();
        const manifest = await createBackup(this.#o.context, target, options);
        this.#succeeded(manifest, (Date.now() - started) / 1000);
        const retention = this.#o.context.config.retention;
        // a failed prune is not a failed backup: told, and the backup stands
        if (prune && retention !== undefined)
          await pruneRepository(this.#o.context, retention, { target, confirm: true }).catch((error: unknown) =>
            this.#o.onError?.(target, error),
          );
        return manifest;
      })
        .then(
          (manifest) => manifest,
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

  /** One scheduled run: the backup, then the target's retention. */
  #scheduled(target: string, options: CreateOptions): Promise<void> {
    return this.#backup(target, options, true).then(
      () => undefined,
      (error: unknown) => this.#o.onError?.(target, error),
    );
  }

  /** Runs `work` once everything queued before it for `target` has settled. */
  #queued<T>(target: string, work: () => Promise<T>): Promise<T> {
    const run = (this.#queues.get(target) ?? Promise.resolve()).then(work);
    const settled = run.catch(() => undefined);
    this.#queues.set(target, settled);
    void settled.then(() => {
      if (this.#queues.get(target) === settled) this.#queues.delete(target);
    });
    return run;
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

  #drilled(report: DrillReport): void {
    const state = this.#state.get(report.target);
    if (state === undefined) return;
    const end = Date.parse(report.endedAt);
    state.lastDrill = report;
    this.#metrics.drillLast.labels(report.target).set(end / 1000);
    this.#metrics.drillRecovery.labels(report.target).set(report.recoverySeconds);
    if (!report.ok) return;
    state.lastDrillSuccess = end;
    this.#metrics.drillSuccess.labels(report.target).set(end / 1000);
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
