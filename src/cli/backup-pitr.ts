import { type Command, InvalidArgumentError } from 'commander';
import { isNinesError } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import { EXIT_INVALID, loadOrReport, type Output, processOutput } from './validate.js';

// The commands' modules load when they run: `wal-push` runs for every WAL segment, and pg is not needed for most.
const pitr = {
  wal: () => import('../backup/postgres/pitr/wal.js'),
  base: () => import('../backup/postgres/pitr/base.js'),
  restore: () => import('../backup/postgres/pitr/restore.js'),
  prune: () => import('../backup/postgres/pitr/prune.js'),
  repository: () => import('../backup/prune.js'),
};

/** Runs `work`; its error goes to stderr without passwords: exit 2 for a bad argument, 1 otherwise. */
async function guarded(output: Output, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    output.err(`backup: ${redactText((error as Error).message)}`);
    return isNinesError(error, 'NINES_INVALID_OPTION') ? EXIT_INVALID : 1;
  }
}

/** A whole-number option (commander passes the text). */
function whole(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

const dropUndefined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const REPOSITORY = ['-r, --repository <dir>', 'backup repository', './data/backups'] as const;

interface PruneOptions {
  config?: string;
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  confirm?: boolean;
  repository?: string;
}

/** `nines backup prune`: the flags' policy, else the config's `backup.retention`. */
async function prune(options: PruneOptions, output: Output): Promise<number> {
  const config = options.config === undefined ? undefined : await loadOrReport(options.config, output, process.env);
  if (options.config !== undefined && config === undefined) return EXIT_INVALID;
  const flags = dropUndefined({
    last: options.keepLast,
    daily: options.keepDaily,
    weekly: options.keepWeekly,
    monthly: options.keepMonthly,
  });
  const policy = Object.keys(flags).length > 0 ? flags : config?.backup.retention;
  if (policy === undefined) {
    output.err('backup prune: no retention policy: pass --keep-last/--keep-daily/--keep-weekly/--keep-monthly or set backup.retention');
    return EXIT_INVALID;
  }
  return guarded(output, async () => {
    const confirm = options.confirm === true;
    const repository = options.repository ?? config?.backup.repository ?? './data/backups';
    const lines: Array<{ keep: boolean; backup: { id: string }; reasons: string[] }> = [];
    if (config !== undefined) {
      const context = { config: { ...config.backup, repository } };
      lines.push(...(await (await pitr.repository()).pruneRepository(context, policy, { confirm })).decisions);
    }
    const base = await (await pitr.prune()).pruneBaseBackups(repository, policy, { confirm });
    lines.push(...base.decisions);
    for (const d of lines) output.out(`${d.keep ? 'keep  ' : 'remove'} ${d.backup.id}  ${d.reasons.join(', ')}`);
    output.out(`${confirm ? 'removed' : 'would remove'} ${base.wal.segments.length} WAL segments (${base.wal.bytes} bytes)`);
    if (!confirm) output.out('dry run: nothing was removed; pass --confirm to remove');
    return 0;
  });
}

interface BaseOptions {
  database?: string;
  target?: string;
  config: string;
  repository?: string;
}

/** `nines backup base`: of `--database`, or of the config's postgres target `--target`. */
async function base(options: BaseOptions, output: Output): Promise<number> {
  if ((options.database === undefined) === (options.target === undefined)) {
    output.err('backup base: pass either --database <url> or --target <name> (a postgres target of --config)');
    return EXIT_INVALID;
  }
  let database = options.database;
  let repository = options.repository ?? './data/backups';
  if (options.target !== undefined) {
    const config = await loadOrReport(options.config, output, process.env);
    if (config === undefined) return EXIT_INVALID;
    const target = config.backup.targets[options.target];
    if (target?.type !== 'postgres') {
      const known = Object.entries(config.backup.targets).filter(([, t]) => t.type === 'postgres');
      output.err(
        `backup base: backup.targets: no postgres target ${JSON.stringify(options.target)}${known.length === 0 ? ' (none configured)' : `; postgres targets: ${known.map(([n]) => n).join(', ')}`}`,
      );
      return EXIT_INVALID;
    }
    database = target.url;
    repository = options.repository ?? config.backup.repository;
  }
  return guarded(output, async () => {
    const b = await (await pitr.base()).takeBaseBackup(database as string, repository);
    const { formatUs } = await pitr.restore();
    output.out(`${b.id}: ended ${formatUs(b.endedUs)}, WAL from ${b.startSegment}`);
    return 0;
  });
}

/**
 * The point-in-time recovery commands under `nines backup`: `wal-push` and `wal-fetch` (PostgreSQL's
 * `archive_command` and `restore_command`), `base` (a base backup) and `prune`; `restore --to-time` is
 * {@link restoreToTime} here.
 */
export function pitrCommands(backup: Command, output: Output = processOutput): void {
  backup
    .command('wal-push')
    .description('archive_command: store WAL file <path> as <name> (exit 1, refusing, if <name> is archived with other content)')
    .argument('<path>', '%p')
    .argument('<name>', '%f')
    .option(...REPOSITORY)
    .action(async (path: string, name: string, options: { repository: string }) => {
      process.exitCode = await guarded(output, async () => {
        await (await pitr.wal()).archiveWal(options.repository, path, name);
        return 0;
      });
    });
  backup
    .command('wal-fetch')
    .description('restore_command: copy archived WAL file <name> to <path> (exit 1 when the archive has none)')
    .argument('<name>', '%f')
    .argument('<path>', '%p')
    .option(...REPOSITORY)
    .action(async (name: string, path: string, options: { repository: string }) => {
      process.exitCode = await guarded(output, async () => ((await (await pitr.wal()).fetchWal(options.repository, name, path)) ? 0 : 1));
    });
  backup
    .command('base')
    .description('Take a base backup (pg_basebackup, checked with pg_verifybackup) of a cluster that archives its WAL here.')
    .option('-d, --database <url>', 'the cluster, as a postgres:// URL')
    .option('-t, --target <name>', "or a postgres target of the config: its URL, and the config's repository")
    .option('-c, --config <file>', 'config file for --target', 'nines.config.yaml')
    .option('-r, --repository <dir>', "backup repository (default the config's with --target, else ./data/backups)")
    .action(async (options: BaseOptions) => {
      process.exitCode = await base(options, output);
    });
  backup
    .command('prune')
    .description(
      "Apply the retention policy to each target's backups and to the base backups, and drop the WAL no kept base backup needs; a dry run unless --confirm.",
    )
    .option(
      '-c, --config <file>',
      'config file: its backup.repository, targets and retention (without one, --repository and base backups only)',
    )
    .option('--keep-last <n>', 'the newest N', whole)
    .option('--keep-daily <n>', 'the newest of each of the last N days with a backup', whole)
    .option('--keep-weekly <n>', 'the newest of each of the last N ISO weeks with a backup', whole)
    .option('--keep-monthly <n>', 'the newest of each of the last N months with a backup', whole)
    .option('--confirm', 'remove them; without it nothing is removed')
    .option('-r, --repository <dir>', "backup repository (default the config's, else ./data/backups)")
    .action(async (options: PruneOptions) => {
      process.exitCode = await prune(options, output);
    });
}

/** `nines backup restore --to-time T --to <dir>`: a data directory that recovers to T from the repository's base backups and WAL. */
export function restoreToTime(
  options: { toTime: string; to: string; force?: boolean; repository?: string },
  output: Output = processOutput,
): Promise<number> {
  return guarded(output, async () => {
    const { formatUs, parseTargetTime, restoreToTime: prepare } = await pitr.restore();
    const repository = options.repository ?? './data/backups';
    const r = await prepare(repository, parseTargetTime(options.toTime), options.to, { force: options.force === true });
    output.out(
      `${options.to}: recovers from ${r.base.id} to ${formatUs(r.targetUs)} (the archive ends at ${formatUs(r.archiveEnd.us)}); start PostgreSQL on it`,
    );
    return 0;
  });
}
