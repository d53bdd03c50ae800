import { execFile } from 'node:child_process';
import { appendFile, chmod, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { InvalidOptionError } from '../../../core/errors.js';
import { BackupRefusedError } from '../../errors.js';
import { pgTool } from '../tools.js';
import { type BaseBackup, baseBackups, baseDir } from './base.js';
import { archivedSegments, walDir } from './wal.js';

const run = promisify(execFile);

const ISO = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:?\d\d)$/;

/** An ISO 8601 date-time with an offset (`2026-12-07T02:30:00.123456Z`) as µs since the epoch. */
export function parseTargetTime(text: string): number {
  const m = ISO.exec(text.trim());
  const ms = m === null ? Number.NaN : Date.parse(`${m[1]}T${m[2]}${m[4] === 'Z' ? 'Z' : (m[4] as string)}`);
  if (m === null || Number.isNaN(ms)) {
    throw new InvalidOptionError(
      `--to-time must be an ISO 8601 date-time with an offset, e.g. 2026-12-07T02:30:00Z, got ${JSON.stringify(text)}`,
    );
  }
  return ms * 1000 + Number((m[3] ?? '').padEnd(6, '0'));
}

/** µs since the epoch as PostgreSQL reads a timestamptz, to the µs: `2026-12-07 02:30:00.123456+00`. */
export function formatUs(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(us % 1_000_000).padStart(6, '0')}+00`;
}

/** The segment after `name` on its timeline, for segments of `segmentBytes`. */
function nextSegment(name: string, segmentBytes: number): string {
  const perLog = 0x1_0000_0000 / segmentBytes;
  let log = Number.parseInt(name.slice(8, 16), 16);
  let seg = Number.parseInt(name.slice(16, 24), 16) + 1;
  if (seg >= perLog) {
    log += 1;
    seg = 0;
  }
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${name.slice(0, 8)}${hex(log)}${hex(seg)}`;
}

/** The archived segments from `base`'s first, unbroken; a gap ends them (recovery cannot pass it). */
async function walAfter(repository: string, base: BaseBackup): Promise<string[]> {
  const have = new Set(await archivedSegments(repository));
  const chain: string[] = [];
  for (let name = base.startSegment; have.has(name); name = nextSegment(name, base.segmentBytes)) chain.push(name);
  return chain;
}

/** The commit times (µs) `pg_waldump` reads in one archived segment. */
async function commitsIn(path: string, pgBin: string | undefined): Promise<number[]> {
  const waldump = pgTool('pg_waldump', pgBin);
  // A segment ends in zeros after a WAL switch: pg_waldump then exits 1 after printing every record.
  const out = await run(waldump, ['-r', 'Transaction', path], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => r.stdout,
    (error: { stdout?: string }) => error.stdout ?? '',
  );
  const times: number[] = [];
  for (const m of out.matchAll(/desc: COMMIT (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))? UTC/g)) {
    times.push(Date.parse(`${m[1]}T${m[2]}Z`) * 1000 + Number((m[3] ?? '').padEnd(6, '0')));
  }
  return times;
}

/** The last commit in the unbroken archive after `base`, read from the newest segment back; undefined when none committed. */
async function lastCommit(
  repository: string,
  base: BaseBackup,
  pgBin: string | undefined,
): Promise<{ us: number; through: string } | undefined> {
  const chain = await walAfter(repository, base);
  for (let i = chain.length - 1; i >= 0; i--) {
    const times = await commitsIn(join(walDir(repository), chain[i] as string), pgBin);
    if (times.length > 0) return { us: Math.max(...times), through: chain[chain.length - 1] as string };
  }
  return undefined;
}

/** What {@link restoreToTime} did. */
export interface PointInTimeRestore {
  /** The base backup recovery starts from: the latest that ended before the target. */
  base: BaseBackup;
  /** The target, µs since the epoch. */
  targetUs: number;
  /** The last commit the archive holds (µs), and its last segment. */
  archiveEnd: { us: number; through: string };
}

/**
 * Prepares `dataDir` to recover to `targetUs`: copies in the latest base backup that ended before
 * the target, and sets `recovery_target_time` with a `restore_command` reading the repository's
 * WAL; start PostgreSQL on it and it replays to the target and promotes. Refused (nothing
 * written) when the target is before the end of every base backup (PostgreSQL itself would
 * silently recover to that end instead), or after the last commit of the unbroken archive (it
 * would stop short), or when `dataDir` is not empty and `force` is not set.
 */
export async function restoreToTime(
  repository: string,
  targetUs: number,
  dataDir: string,
  options: { force?: boolean; pgBin?: string } = {},
): Promise<PointInTimeRestore> {
  const bases = await baseBackups(repository);
  const usable = bases.filter((b) => b.endedUs <= targetUs);
  const base = usable[usable.length - 1];
  if (base === undefined) {
    const oldest = bases[0];
    throw new BackupRefusedError(
      oldest === undefined
        ? 'no base backup in the repository: take one with `nines backup base` first'
        : `target ${formatUs(targetUs)} is before the end of the oldest base backup (${oldest.id}, ended ${formatUs(oldest.endedUs)}): ` +
            'PostgreSQL would recover to that end instead, so nines refuses',
    );
  }
  const end = await lastCommit(repository, base, options.pgBin);
  if (end === undefined || targetUs > end.us) {
    throw new BackupRefusedError(
      end === undefined
        ? `no transaction committed in the archived WAL after ${base.id}: restore to its end (${formatUs(base.endedUs)}) instead`
        : `target ${formatUs(targetUs)} is after the end of the archived WAL (its last commit is at ${formatUs(end.us)}, through ${end.through})`,
    );
  }
  const existing = await readdir(dataDir).catch(() => [] as string[]);
  if (existing.length > 0 && options.force !== true) {
    throw new BackupRefusedError(`${dataDir} is not empty: pass --force to replace what it holds`);
  }
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  await cp(join(baseDir(repository), base.id), dataDir, { recursive: true, filter: (src) => !src.endsWith('nines-base.json') });
  await chmod(dataDir, 0o700); // PostgreSQL refuses a data directory others can read
  const wal = resolve(walDir(repository)).replaceAll("'", "''");
  await appendFile(
    join(dataDir, 'postgresql.auto.conf'),
    [
      '',
      `# point-in-time recovery by nines from ${base.id}`,
      `restore_command = 'cp "${wal}/%f" "%p"'`,
      `recovery_target_time = '${formatUs(targetUs)}'`,
      "recovery_target_action = 'promote'",
      '',
    ].join('\n'),
  );
  await writeFile(join(dataDir, 'recovery.signal'), '');
  return { base, targetUs, archiveEnd: end };
}
