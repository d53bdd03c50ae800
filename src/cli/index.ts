#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=50
// V8 sizes the heap for the machine (young generation up to 2 × 64 MB on a big one) and lets old
// space grow to ~4× live data before it marks. For a monitor whose live heap is ~25 MB that is
// ~340 MB RSS at 1,000 checks/s; with these flags ~165 MB, and less CPU per check, not more
// (docs/benchmarks.md). NODE_OPTIONS does not accept --heap-growing-percent, hence the shebang.
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { pitrCommands, restoreToTime } from './backup-pitr.js';
import { EXPORTS, exportFile } from './export.js';
import { DEFAULT_CONFIG_PATH, validate } from './validate.js';

// Each command's module is loaded when it runs: \`serve\` pulls in Fastify and the whole server
// (~0.6 s of start-up on a small machine), which \`nines backup list\` should not pay.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** A usage error: its message on stderr, exit 2. */
function fail(message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = 2;
}

/** The `nines` command. */
export function buildProgram(): Command {
  const program = new Command('nines')
    .description('Keep Node.js services at 99.9 % and prove it with numbers.')
    .version(version, '-v, --version')
    .showHelpAfterError();
  program
    .command('validate')
    .description('Check a config file and list every problem in it; starts nothing.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string }) => {
      process.exitCode = await validate(options.config);
    });
  program
    .command('check')
    .description(
      "Run every component's check once and print the results. Exit 0 all healthy, 1 any degraded, 2 any unhealthy or a bad config.",
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--json', 'print JSON: { status, components: [result…] }')
    .option('--verbose', "show each check's details")
    .action(async (options: { config: string; json?: boolean; verbose?: boolean }) => {
      process.exitCode = await (await import('./check.js')).check(options);
    });
  program
    .command('report')
    .description('Availability, downtime, unobserved time, MTBF, MTTR, checks and SLO budgets over a window, from the stored history.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('-w, --window <duration>', 'window length, ending at --to (default now), e.g. 24h, 7d, 30d', '7d')
    .option('--from <time>', 'window start, ISO 8601 or epoch ms (instead of --window)')
    .option('--to <time>', 'window end, ISO 8601 or epoch ms; default now')
    .option('--json', 'print JSON')
    .action(async (options: { config: string; window: string; from?: string; to?: string; json?: boolean }) => {
      process.exitCode = await (await import('./report.js')).report(options);
    });
  program
    .command('export')
    .description(
      `Write a file generated from the config: ${Object.keys(EXPORTS).join(', ')} (Prometheus recording and burn-rate alert rules; a Grafana dashboard).`,
    )
    .argument('<kind>', Object.keys(EXPORTS).join(' | '))
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .option('-o, --output <file>', 'file to write; default stdout')
    .action(async (kind: string, options: { config: string; output?: string }) => {
      process.exitCode = await exportFile(kind, options);
    });
  const backup = program
    .command('backup')
    .description(
      'Back up and restore the targets of the config (backup.targets): create, list, verify, restore, drill; PostgreSQL point-in-time recovery: wal-push, wal-fetch, base, prune, restore --to-time.',
    );
  pitrCommands(backup);
  backup
    .command('create')
    .description('Take a backup of a target; it appears in the repository only once complete and verified.')
    .requiredOption('-t, --target <name>', 'a target of backup.targets')
    .option('--type <type>', 'full, or incremental (files targets: only what changed since the latest backup)', 'full')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string; target: string; type: string }) => {
      process.exitCode = await (await import('./backup.js')).backupCreate(options);
    });
  backup
    .command('list')
    .description('List the complete backups in the repository, oldest first.')
    .option('-t, --target <name>', 'only this target')
    .option('--json', 'print the manifests as JSON')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string; target?: string; json?: boolean }) => {
      process.exitCode = await (await import('./backup.js')).backupList(options);
    });
  backup
    .command('verify')
    .description('Recompute every checksum, decrypt, and have the restoring tool read the backup. Exit 1 naming the bad file.')
    .argument('<id>', 'backup id, as `nines backup list` shows')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (id: string, options: { config: string }) => {
      process.exitCode = await (await import('./backup.js')).backupVerify(id, options);
    });
  backup
    .command('drill')
    .description(
      'Restore drill: restore the newest backup of a target into a scratch database, file or directory, compare it with what the backup recorded (row counts, file hashes), report the recovery time, drop the copy. Exit 1 on a difference.',
    )
    .requiredOption('-t, --target <name>', 'a target of backup.targets')
    .option('--json', 'print the drill report as JSON')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string; target: string; json?: boolean }) => {
      process.exitCode = await (await import('./backup.js')).backupDrill(options);
    });
  backup
    .command('restore')
    .description(
      'Restore a backup into a database (URL; created if missing) or a path, refusing a non-empty target without --force; with --to-time, prepare a PostgreSQL data directory that recovers to that moment.',
    )
    .argument('[id]', 'backup id, as `nines backup list` shows (not with --to-time)')
    .requiredOption('--to <database-url|path>', 'where to restore (with --to-time: the data directory to write)')
    .option('--to-time <time>', 'point-in-time recovery: ISO 8601 with an offset, to the µs (2026-12-07T14:02:13.000000Z)')
    .option('--force', 'restore over a non-empty target (PostgreSQL: pg_restore --clean)')
    .option('-r, --repository <dir>', 'with --to-time: the repository of the base backups and WAL (default ./data/backups)')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(
      async (id: string | undefined, options: { config: string; to: string; force?: boolean; toTime?: string; repository?: string }) => {
        if (options.toTime !== undefined) {
          if (id !== undefined) return fail('backup restore: give a backup id or --to-time, not both');
          process.exitCode = await restoreToTime({ ...options, toTime: options.toTime });
          return;
        }
        if (id === undefined) return fail('backup restore: which backup? give its id (nines backup list), or --to-time');
        process.exitCode = await (await import('./backup.js')).backupRestore(id, options);
      },
    );
  program
    .command('serve')
    .description('Run the monitor and its HTTP service (API, probes, /metrics) until SIGTERM; SIGHUP reloads the config.')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (options: { config: string }) => {
      const code = await (await import('./serve.js')).serve(options);
      if (code !== undefined) process.exitCode = code;
    });
  return program;
}

/** True when this file is the process entry (also through npm's bin symlink), not an import. */
function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) await buildProgram().parseAsync();
