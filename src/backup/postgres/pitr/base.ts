import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BackupError, BackupRefusedError } from '../../errors.js';
import { startTool, toolVersion } from '../../tools.js';
import { libpq, withClient } from '../connection.js';
import { pgTool } from '../tools.js';

const run = promisify(execFile);

/** What nines records of a base backup, in `nines-base.json` beside it. */
export interface BaseBackup {
  id: string;
  /** Server clock, µs since the epoch, before the backup began. */
  startedUs: number;
  /** Server clock, µs since the epoch, after it ended: no recovery target before this can use it. */
  endedUs: number;
  /** The first WAL segment the backup needs (from `backup_label`). */
  startSegment: string;
  timeline: number;
  serverVersion: string;
  /** `pg_basebackup --version`. */
  tool: string;
  /** Bytes of WAL segment (`pg_controldata`), to tell consecutive segments. */
  segmentBytes: number;
}

/** The repository's folder of base backups. */
export const baseDir = (repository: string): string => join(repository, 'base');

const MANIFEST = 'nines-base.json';

/** Server clock in µs since the epoch. */
async function serverUs(client: Parameters<Parameters<typeof withClient>[1]>[0]): Promise<number> {
  const { rows } = await client.query<{ us: string }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text AS us');
  return Number(rows[0]?.us);
}

/**
 * Takes a base backup of the cluster at `url` for point-in-time recovery: `pg_basebackup` (plain
 * format, its WAL streamed in, a SHA-256 manifest) into a temporary folder, checked with
 * `pg_verifybackup`, then renamed into `base/<id>`: a crash never leaves a backup that looks
 * complete. Refused unless the server archives its WAL (`archive_mode`), without which a base
 * backup recovers to its own end and no later.
 */
export function takeBaseBackup(url: string, repository: string, options: { pgBin?: string } = {}): Promise<BaseBackup> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ version: string; archive: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('archive_mode') AS archive",
    );
    const settings = rows[0] as { version: string; archive: string };
    if (settings.archive === 'off') {
      throw new BackupRefusedError('archive_mode is off: without archived WAL a base backup cannot be recovered to a later time');
    }
    const startedUs = await serverUs(client);
    const id = `base-${new Date(startedUs / 1000).toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;
    await mkdir(baseDir(repository), { recursive: true });
    const temp = join(baseDir(repository), `.${id}.tmp`);
    try {
      const bin = options.pgBin;
      const conn = libpq(url); // the password in PGPASSWORD, never on the command line
      const args = ['-d', conn.url, '-D', temp, '-Fp', '-X', 'stream', '-c', 'fast', '--manifest-checksums=SHA256'];
      await startTool(pgTool('pg_basebackup', bin), args, { env: conn.env, secrets: conn.secrets }).done;
      const endedUs = await serverUs(client);
      await startTool(pgTool('pg_verifybackup', bin), ['-q', temp]).done;
      const label = await readFile(join(temp, 'backup_label'), 'utf8');
      const start = /START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)/.exec(label);
      const timeline = /START TIMELINE: (\d+)/.exec(label);
      if (start === null || timeline === null) throw new BackupError('NINES_BACKUP_FAILED', 'backup_label names no start WAL segment');
      const control = (await run(pgTool('pg_controldata', bin), [temp], { env: { ...process.env, LC_ALL: 'C' } })).stdout;
      const backup: BaseBackup = {
        id,
        startedUs,
        endedUs,
        startSegment: start[1] as string,
        timeline: Number(timeline[1]),
        serverVersion: settings.version,
        tool: await toolVersion(pgTool('pg_basebackup', bin)),
        segmentBytes: Number(/Bytes per WAL segment:\s+(\d+)/.exec(control)?.[1]),
      };
      await writeFile(join(temp, MANIFEST), `${JSON.stringify(backup, null, 2)}\n`);
      await rename(temp, join(baseDir(repository), id));
      return backup;
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  });
}

/** The complete base backups of the repository, oldest end first (a crashed one, still under its temporary name, is not listed). */
export async function baseBackups(repository: string): Promise<BaseBackup[]> {
  const names = await readdir(baseDir(repository)).catch(() => [] as string[]);
  const out: BaseBackup[] = [];
  for (const name of names.filter((n) => n.startsWith('base-'))) {
    const text = await readFile(join(baseDir(repository), name, MANIFEST), 'utf8').catch(() => undefined);
    if (text !== undefined) out.push(JSON.parse(text) as BaseBackup);
  }
  return out.sort((a, b) => a.endedUs - b.endedUs);
}
