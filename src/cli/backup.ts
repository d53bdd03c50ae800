import { type BackupContext, createBackup, repositoryOf, restoreBackup, verifyBackup } from '../backup/backup.js';
import { BackupError } from '../backup/errors.js';
import type { Manifest } from '../backup/manifest.js';
import { formatDuration } from '../config/index.js';
import { redactText, redactUrl } from '../core/redact.js';
import { EXIT_INVALID, loadOrReport, type Output, processOutput } from './validate.js';

/** Exit code of a backup, verification or restore that failed (a bad config or argument is {@link EXIT_INVALID}). */
export const EXIT_FAILED = 1;

/** Options every `nines backup` command takes. */
export interface BackupCommandOptions {
  /** Config file to load. */
  config: string;
}

type Env = NodeJS.ProcessEnv;

/** Loads the config; undefined after printing its problems. */
async function contextOf(options: BackupCommandOptions, output: Output, env: Env): Promise<BackupContext | undefined> {
  const config = await loadOrReport(options.config, output, env);
  return config === undefined ? undefined : { config: config.backup, env };
}

/**
 * Prints a failure and returns its exit code: 2 for what the caller must change (the config's key,
 * a name, --to, --force), 1 for the rest. A key that cannot be loaded prints as a config problem,
 * `path: message`.
 */
function failed(what: string, error: unknown, output: Output): number {
  if (error instanceof DrillDiffers) return EXIT_FAILED; // the report says it already
  if (error instanceof BackupError && error.configPath !== undefined) {
    output.err(error.message);
    return EXIT_INVALID;
  }
  output.err(`${what}: ${redactText(error instanceof Error ? error.message : String(error))}`);
  if (!(error instanceof BackupError)) return EXIT_FAILED;
  return error.code === 'NINES_BACKUP_NOT_FOUND' || error.code === 'NINES_RESTORE_REFUSED' ? EXIT_INVALID : EXIT_FAILED;
}

/** A drill that ran and found differences: its report is printed, only the exit code is left. */
class DrillDiffers extends Error {}

const mb = (bytes: number | null) => (bytes === null ? '—' : `${(bytes / 1_048_576).toFixed(1)} MB`);
const took = (m: Manifest) => formatDuration(Math.max(0, Date.parse(m.endedAt) - Date.parse(m.startedAt)));
/** A restore target as shown: a URL without its password. */
const shown = (to: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(to) ? redactUrl(to) : to);

/** Loads the context, runs `fn` on it, and turns its failure into an exit code. */
async function withContext(
  what: string,
  options: BackupCommandOptions,
  output: Output,
  env: Env,
  fn: (context: BackupContext) => Promise<void>,
): Promise<number> {
  const context = await contextOf(options, output, env);
  if (context === undefined) return EXIT_INVALID;
  try {
    await fn(context);
    return 0;
  } catch (error) {
    return failed(what, error, output);
  }
}

/** `nines backup create --target T [--type full|incremental]`: a backup, verified before it appears in the repository. */
export function backupCreate(
  options: BackupCommandOptions & { target: string; type?: string },
  output: Output = processOutput,
  env: Env = process.env,
): Promise<number> {
  const type = options.type ?? 'full';
  if (type !== 'full' && type !== 'incremental') {
    output.err(`--type: expected full or incremental, got ${JSON.stringify(type)}`);
    return Promise.resolve(EXIT_INVALID);
  }
  return withContext(`backup ${options.target}`, options, output, env, async (context) => {
    const m = await createBackup(context, options.target, { type });
    for (const name of m.removedLeftovers) output.err(`removed ${name}: left by a create that did not finish`);
    if (m.fullBecause !== undefined) output.err(`taking a full backup: ${m.fullBecause}`);
    const key = m.encryption === null ? '' : `, encrypted with key ${m.encryption.keyId}`;
    const on = m.parent === null ? '' : ` (incremental on ${m.parent}: ${m.options.packedFiles} changed files packed)`;
    output.out(
      `backup ${m.id}${on} complete and verified: ${m.artifacts.length} artifacts, ${mb(m.sizes.stored)} stored (${mb(m.sizes.source)} source) in ${took(m)}${key}`,
    );
  });
}

/** `nines backup list [--target T] [--json]`: the complete backups, oldest first. */
export function backupList(
  options: BackupCommandOptions & { target?: string; json?: boolean },
  output: Output = processOutput,
  env: Env = process.env,
): Promise<number> {
  return withContext('list', options, output, env, async (context) => {
    const backups = await repositoryOf(context).list(options.target);
    if (options.json) return output.out(JSON.stringify(backups));
    if (backups.length === 0)
      return output.out(`no backups${options.target === undefined ? '' : ` of ${options.target}`} in ${context.config.repository}`);
    const head = ['id', 'kind', 'type', 'started', 'took', 'stored', 'source', 'key'];
    const rows = backups.map((m) => [
      m.id,
      m.kind,
      m.type,
      m.startedAt,
      took(m),
      mb(m.sizes.stored),
      mb(m.sizes.source),
      m.encryption?.keyId ?? '—',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const r of [head, ...rows])
      output.out(
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      );
  });
}

/** `nines backup verify <id>`: checksums, decryption and the restoring tool's reading; exit 1 naming the bad file. */
export function backupVerify(
  id: string,
  options: BackupCommandOptions,
  output: Output = processOutput,
  env: Env = process.env,
): Promise<number> {
  return withContext(`verify ${id}`, options, output, env, async (context) => {
    const m = await verifyBackup(context, id);
    const decrypted = m.encryption === null ? '' : ', decrypted';
    output.out(
      `backup ${id} verified: ${m.artifacts.length} artifacts, ${mb(m.sizes.stored)}, checksums match${decrypted}, readable by ${reader(m)}`,
    );
  });
}

function reader(m: Manifest): string {
  return m.kind === 'postgres' ? 'pg_restore --list' : m.kind === 'sqlite' ? "SQLite's integrity_check" : 'tar';
}

/** `nines backup restore <id> --to <database-url|path> [--force]`. */
export function backupRestore(
  id: string,
  options: BackupCommandOptions & { to: string; force?: boolean },
  output: Output = processOutput,
  env: Env = process.env,
): Promise<number> {
  return withContext(`restore ${id}`, options, output, env, async (context) => {
    const started = Date.now();
    await restoreBackup(context, id, options.to, options.force === true);
    output.out(`backup ${id} restored into ${shown(options.to)} in ${formatDuration(Date.now() - started)}`);
  });
}

/** `nines backup drill --target T [--json]`: restore the newest backup into a scratch copy, compare it, drop it; exit 1 on a difference. */
export function backupDrill(
  options: BackupCommandOptions & { target: string; json?: boolean },
  output: Output = processOutput,
  env: Env = process.env,
): Promise<number> {
  return withContext(`drill ${options.target}`, options, output, env, async (context) => {
    const { drillBackup } = await import('../backup/drill.js');
    const r = await drillBackup(context, options.target);
    if (options.json) output.out(JSON.stringify(r));
    else {
      const times = `restore ${r.restoreSeconds.toFixed(1)} s + compare ${r.compareSeconds.toFixed(1)} s = recovery ${r.recoverySeconds.toFixed(1)} s`;
      output.out(
        `drill of ${r.target} from backup ${r.backupId}: ${r.ok ? 'the restore agrees with the backup' : `${r.differences.length} differences`}; ${times}; scratch copy dropped`,
      );
      for (const line of r.differences) output.out(`  ${line}`);
    }
    if (!r.ok) throw new DrillDiffers();
  });
}
