import { z } from 'zod';
import type { KeySource } from '../backup/key.js';
import { cron } from './maintenance.js';

/** Backup target names: the same rule as component names; they start every backup id. */
const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower case letters, digits, ".", "_" or "-", starting with a letter or digit');

const compression = z.enum(['gzip', 'zstd', 'none']);

/** When `nines serve` backs the target up: a cron expression in UTC (`0 3 * * *`, six fields for seconds). Default: only by hand. */
const schedule = cron.optional();

/** When `nines serve` runs a restore drill of the target (`nines backup drill`): a cron expression in UTC. Default: only by hand. */
const drill = cron.optional();

const keep = z.int().min(0).max(10_000).optional();

/** What `nines backup prune` and the scheduled backups keep of each target (restic's keep rules); at least one above 0. */
const retention = z
  .strictObject({ last: keep, daily: keep, weekly: keep, monthly: keep })
  .refine((r) => Object.values(r).some((n) => n !== undefined && n > 0), 'must keep something: set last, daily, weekly or monthly above 0');

const postgresUrl = z
  .string()
  .refine(
    (v) => /^postgres(ql)?:\/\/\S+$/.test(v) && URL.canParse(v) && new URL(v).hostname !== '',
    'expected postgres://user@host:5432/db',
  );

const postgres = z
  .strictObject({
    type: z.literal('postgres'),
    /** The database to dump. */
    url: postgresUrl,
    /** `custom` (`pg_dump -Fc`, one file, streamed) or `directory` (`-Fd`, one file per table, dumped with `jobs` in parallel). */
    format: z.enum(['custom', 'directory']).default('custom'),
    /** Parallel dump and restore jobs (`-j`); only with `format: directory`. */
    jobs: z.int().min(1).max(64).optional(),
    /** `pg_dump -Z` level, 0 (none) to 9; default pg_dump's own. */
    compressLevel: z.int().min(0).max(9).optional(),
    schedule,
    drill,
  })
  .superRefine((t, ctx) => {
    if (t.jobs !== undefined && t.jobs > 1 && t.format !== 'directory')
      ctx.addIssue({ code: 'custom', path: ['jobs'], message: 'parallel jobs need format: directory (pg_dump -j works only with -Fd)' });
  })
  .transform((t) => ({ ...t, jobs: t.jobs ?? 1 }));

const sqlite = z.strictObject({
  type: z.literal('sqlite'),
  /** The SQLite file, copied online with SQLite's backup API. */
  path: z.string().min(1),
  compression: compression.default('gzip'),
  schedule,
  drill,
});

const files = z.strictObject({
  type: z.literal('files'),
  /** The directory to back up. */
  path: z.string().min(1),
  /** Globs of paths (relative to `path`) left out; a glob without `/` also matches a base name anywhere. */
  exclude: z.array(z.string().min(1)).default([]),
  compression: compression.default('gzip'),
  schedule,
  drill,
  /** When `nines serve` takes an incremental backup (cron, UTC), between the full ones of `schedule`. Default: none. */
  incremental: cron.optional(),
});

const target = z.discriminatedUnion('type', [postgres, sqlite, files], {
  error: (issue) => (issue.code === 'invalid_union' ? 'expected postgres, sqlite or files' : undefined),
});

const encryption = z
  .strictObject({
    /** The environment variable holding the key. */
    keyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
      .optional(),
    /** A file holding the key (keep it readable by the owner only). */
    keyFile: z.string().min(1, 'must not be empty').optional(),
  })
  .superRefine((e, ctx) => {
    if ((e.keyEnv === undefined) === (e.keyFile === undefined))
      ctx.addIssue({ code: 'custom', message: 'expected one of keyEnv or keyFile: where the 32-byte key (64 hex digits or base64) is' });
  })
  .transform((e): KeySource => (e.keyEnv !== undefined ? { keyEnv: e.keyEnv } : { keyFile: e.keyFile as string }));

/** `backup:`: where backups go, whether they are encrypted, and what is backed up (docs/backup.md). */
export const backupSchema = z
  .strictObject({
    /** The repository: a directory with one folder per backup. */
    repository: z.string().min(1, 'must not be empty').default('./data/backups'),
    /** AES-256-GCM encryption of every artifact, with a key from an environment variable or a file. */
    encryption: encryption.optional(),
    /** What can be backed up, by name. */
    targets: z.record(name, target).default({}),
    /** Applied to each target's backups by `nines backup prune`, and after each scheduled backup. Default: keep everything. */
    retention: retention.optional(),
  })
  .prefault({});

/** The validated `backup:` section. */
export type BackupConfig = z.output<typeof backupSchema>;

/** One validated backup target. */
export type BackupTargetConfig = BackupConfig['targets'][string];

/** A `postgres` target. */
export type PostgresTargetConfig = Extract<BackupTargetConfig, { type: 'postgres' }>;
/** A `sqlite` target. */
export type SqliteTargetConfig = Extract<BackupTargetConfig, { type: 'sqlite' }>;
/** A `files` target. */
export type FilesTargetConfig = Extract<BackupTargetConfig, { type: 'files' }>;
