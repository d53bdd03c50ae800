import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { BackupTargetConfig } from '../config/backup.js';
import { systemClock } from '../core/clock.js';
import { redactText, secretsOf } from '../core/redact.js';
import { type BackupContext, configuredKey, driverFor, repositoryOf, restoreBackup, targetOf } from './backup.js';
import { BackupError } from './errors.js';
import { adminUrl, withClient } from './postgres/connection.js';

const reportSchema = z.object({
  /** This drill's id: the target and a random suffix. */
  id: z.string(),
  target: z.string(),
  /** The backup restored; null when there was none to drill. */
  backupId: z.string().nullable(),
  startedAt: z.string(),
  /** When it finished, with the scratch copy removed. */
  endedAt: z.string(),
  /** Seconds the restore into the scratch copy took (the clock of the context). */
  restoreSeconds: z.number(),
  /** Seconds counting the scratch copy and comparing it with the manifest took. */
  compareSeconds: z.number(),
  /** restoreSeconds + compareSeconds: the recovery time this drill measured. */
  recoverySeconds: z.number(),
  /** One line per difference between the restore and what the backup recorded. */
  differences: z.array(z.string()),
  /** True when the restore succeeded and agreed with the manifest. */
  ok: z.boolean(),
  /** Why the drill could not finish (a restore that failed, a refused scratch database); absent when it did. */
  error: z.string().optional(),
});

/** What a restore drill found. */
export type DrillReport = z.output<typeof reportSchema>;

/** Where the last drill report of each target is kept, inside the repository. */
const DRILLS = 'drills';

/**
 * Restores the newest complete backup of `name` into a scratch copy (a database
 * `nines_drill_<target>_<random>` on the target's server, a temporary file or directory), compares
 * it with what the backup recorded, and always removes the scratch copy. The report is kept as the
 * target's last drill ({@link lastDrill}), a failed one too; a drill that could not finish
 * throws after keeping it.
 */
export async function drillBackup(context: BackupContext, name: string): Promise<DrillReport> {
  const target = targetOf(context.config, name);
  const clock = context.clock ?? systemClock;
  const startedAt = clock.now();
  const report: DrillReport = {
    id: `${name}-${randomBytes(3).toString('hex')}`,
    target: name,
    backupId: null,
    startedAt: new Date(startedAt).toISOString(),
    endedAt: '',
    restoreSeconds: 0,
    compareSeconds: 0,
    recoverySeconds: 0,
    differences: [],
    ok: false,
  };
  try {
    const repository = repositoryOf(context);
    const manifest = (await repository.list(name)).at(-1);
    if (manifest === undefined)
      throw new BackupError('NINES_BACKUP_NOT_FOUND', `no backup of ${name} in ${context.config.repository} to drill: take one first`);
    report.backupId = manifest.id;
    const driver = await driverFor(target, repository.root);
    const key = manifest.encryption === null ? undefined : await configuredKey(context);
    await withScratch(target, name, async (to) => {
      const restoreStart = clock.now();
      await restoreBackup(context, manifest.id, to);
      const compareStart = clock.now();
      report.differences = await driver.compare(repository.dir(manifest.id), manifest, key, to);
      const end = clock.now();
      report.restoreSeconds = (compareStart - restoreStart) / 1000;
      report.compareSeconds = (end - compareStart) / 1000;
      report.recoverySeconds = (end - restoreStart) / 1000; // restore + compare, without float noise
    });
    report.ok = report.differences.length === 0;
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error);
    await keep(context, report, clock.now());
    throw error;
  }
  await keep(context, report, clock.now());
  return report;
}

/** The file of a target's last drill report, or of its last successful one. */
const reportFile = (context: BackupContext, name: string, ok: boolean) =>
  join(context.config.repository, DRILLS, ...(ok ? ['ok'] : []), `${name}.json`); // a folder: no target name can clash

/**
 * The last drill report of target `name` (with `ok`, its last successful one, which a failed drill
 * does not replace); undefined when there is none (or it cannot be read).
 */
export async function lastDrill(context: BackupContext, name: string, ok = false): Promise<DrillReport | undefined> {
  try {
    return reportSchema.parse(JSON.parse(await readFile(reportFile(context, name, ok), 'utf8')));
  } catch {
    return undefined;
  }
}

/** Writes the report as the target's last (and last successful, when it is), atomically: a temporary file renamed over the old one. */
async function keep(context: BackupContext, report: DrillReport, now: number): Promise<void> {
  report.endedAt = new Date(now).toISOString();
  await mkdir(join(context.config.repository, DRILLS, 'ok'), { recursive: true, mode: 0o700 });
  for (const ok of report.ok ? [true, false] : [false]) {
    const file = reportFile(context, report.target, ok);
    const temp = `${file}.${randomBytes(3).toString('hex')}.tmp`;
    await writeFile(temp, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, file);
  }
}

/** Runs `fn` with where to restore a scratch copy of `target`, and removes that copy afterwards whatever happened. */
async function withScratch(target: BackupTargetConfig, name: string, fn: (to: string) => Promise<void>): Promise<void> {
  if (target.type !== 'postgres') {
    const dir = await mkdtemp(join(tmpdir(), 'nines-drill-'));
    try {
      return await fn(join(dir, target.type === 'sqlite' ? 'drill.sqlite' : 'tree'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const database = `nines_drill_${name.replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  const admin = adminUrl(target.url);
  const scratch = new URL(target.url);
  scratch.pathname = `/${database}`;
  /** A scratch database that cannot be created or dropped, with the server's reason (no password in it). */
  const failed = (what: string, error: unknown, hint: string) => {
    const why = redactText(error instanceof Error ? error.message : String(error), secretsOf(target.url));
    const message = `drill of ${name}: cannot ${what} the scratch database ${database} on ${new URL(admin).host}: ${why}${hint}`;
    return new BackupError('NINES_BACKUP_FAILED', message, { cause: error });
  };
  const onAdmin = (sql: string) => withClient(admin, (c) => c.query(sql));
  await onAdmin(`create database ${database}`).catch((error: unknown) => {
    throw failed('create', error, (error as { code?: string }).code === '42501' ? " (the target's user needs CREATEDB)" : '');
  });
  try {
    await fn(scratch.toString());
  } finally {
    await onAdmin(`drop database if exists ${database} with (force)`).catch((error: unknown) => {
      throw failed('drop', error, '; drop it by hand');
    });
  }
}
