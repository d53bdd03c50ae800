import { type Command, InvalidArgumentError } from 'commander';
import { takeBaseBackup } from '../backup/postgres/pitr/base.js';
import { pruneBaseBackups } from '../backup/postgres/pitr/prune.js';
import { formatUs, parseTargetTime, restoreToTime } from '../backup/postgres/pitr/restore.js';
import { archiveWal, fetchWal } from '../backup/postgres/pitr/wal.js';
import { isNinesError } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import { EXIT_INVALID, type Output, processOutput } from './validate.js';

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

/**
 * The point-in-time recovery commands under `nines backup`: `wal-push` and `wal-fetch` (PostgreSQL's
 * `archive_command` and `restore_command`), `base` (a base backup), `prune` and `restore-time`.
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
        await archiveWal(options.repository, path, name);
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
      process.exitCode = await guarded(output, async () => ((await fetchWal(options.repository, name, path)) ? 0 : 1));
    });
  backup
    .command('base')
    .description('Take a base backup (pg_basebackup, checked with pg_verifybackup) of a cluster that archives its WAL here.')
    .requiredOption('-d, --database <url>', 'the cluster, as a postgres:// URL')
    .option(...REPOSITORY)
    .action(async (options: { database: string; repository: string }) => {
      process.exitCode = await guarded(output, async () => {
        const b = await takeBaseBackup(options.database, options.repository);
        output.out(`${b.id}: ended ${formatUs(b.endedUs)}, WAL from ${b.startSegment}`);
        return 0;
      });
    });
  backup
    .command('prune')
    .description('Apply the retention policy to the base backups and drop the WAL none of the kept needs; a dry run unless --confirm.')
    .option('--keep-last <n>', 'the newest N', whole)
    .option('--keep-daily <n>', 'the newest of each of the last N days with a backup', whole)
    .option('--keep-weekly <n>', 'the newest of each of the last N ISO weeks with a backup', whole)
    .option('--keep-monthly <n>', 'the newest of each of the last N months with a backup', whole)
    .option('--confirm', 'remove them; without it nothing is removed')
    .option(...REPOSITORY)
    .action(
      async (options: {
        keepLast?: number;
        keepDaily?: number;
        keepWeekly?: number;
        keepMonthly?: number;
        confirm?: boolean;
        repository: string;
      }) => {
        process.exitCode = await guarded(output, async () => {
          const policy = { last: options.keepLast, daily: options.keepDaily, weekly: options.keepWeekly, monthly: options.keepMonthly };
          const plan = await pruneBaseBackups(options.repository, dropUndefined(policy), { confirm: options.confirm === true });
          for (const d of plan.decisions) output.out(`${d.keep ? 'keep  ' : 'remove'} ${d.backup.id}  ${d.reasons.join(', ')}`);
          output.out(`${plan.removed ? 'removed' : 'would remove'} ${plan.wal.segments.length} WAL segments (${plan.wal.bytes} bytes)`);
          if (!plan.removed) output.out('dry run: nothing was removed; pass --confirm to remove');
          return 0;
        });
      },
    );
  backup
    .command('restore-time')
    .description('Prepare a data directory that recovers to --to-time from the latest base backup before it and the archived WAL.')
    .requiredOption('--to-time <time>', 'ISO 8601 with an offset, to the µs: 2026-12-07T02:30:00.123456Z')
    .requiredOption('--to <dir>', 'the data directory to write (empty, or --force)')
    .option('--force', 'replace what the data directory holds')
    .option(...REPOSITORY)
    .action(async (options: { toTime: string; to: string; force?: boolean; repository: string }) => {
      process.exitCode = await guarded(output, async () => {
        const r = await restoreToTime(options.repository, parseTargetTime(options.toTime), options.to, { force: options.force === true });
        output.out(
          `${options.to}: recovers from ${r.base.id} to ${formatUs(r.targetUs)} (the archive ends at ${formatUs(r.archiveEnd.us)}); start PostgreSQL on it`,
        );
        return 0;
      });
    });
}
