import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { SqliteTargetConfig } from '../../config/backup.js';
import { type Compression, decompressor, readPlain, writeArtifact } from '../artifact.js';
import { differences, recordedTables } from '../contents.js';
import type { DriverOutput, TargetDriver } from '../driver.js';
import { BackupError } from '../errors.js';
import type { BackupKey } from '../key.js';
import type { Manifest } from '../manifest.js';
import { fsyncPath } from '../repository.js';

/** The copy's name inside a backup, before the compression's suffix. */
const COPY = 'database.sqlite';

async function openSqlite(path: string, readonly: boolean) {
  // loaded here, so backups of other targets never load the native module
  const { default: SQLite } = await import('better-sqlite3');
  return new SQLite(path, { readonly, fileMustExist: true });
}

/**
 * A SQLite file, copied online with SQLite's backup API in one step: the copy is one consistent
 * snapshot, and in WAL mode a running writer is never blocked while it is taken (in rollback-journal
 * mode the writer waits for the copy, up to its busy timeout). Stepping page by page instead would
 * restart on every write of another connection and might never finish under a busy writer.
 */
export function sqliteDriver(target: SqliteTargetConfig): TargetDriver {
  const source = resolve(target.path);
  return {
    async create(dir, key): Promise<DriverOutput> {
      const raw = join(dir, '.raw.sqlite');
      const db = await openSqlite(source, true).catch((error: unknown) => {
        throw new BackupError('NINES_BACKUP_FAILED', `${source}: cannot open: ${(error as Error).message}`, { cause: error });
      });
      let version: string;
      try {
        version = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
        await db.backup(raw, { progress: () => 0x7fffffff });
      } finally {
        db.close();
      }
      const tables = await countRows(raw); // the copy is the consistent snapshot; the source may have moved on
      const written = await writeArtifact(dir, COPY, createReadStream(raw), { compression: target.compression, key });
      await rm(raw, { force: true });
      return {
        artifacts: [written.artifact],
        contents: { tables },
        sourceBytes: written.sourceBytes,
        source: { path: source },
        tools: { sqlite: version },
        options: { compression: target.compression },
      };
    },

    async verify(dir, manifest, key) {
      const scratch = await mkdtemp(join(tmpdir(), 'nines-verify-'));
      try {
        const copy = join(scratch, COPY);
        await extract(dir, manifest, key, copy);
        const db = await openSqlite(copy, true);
        try {
          const result = db.pragma('integrity_check', { simple: true });
          if (result !== 'ok')
            throw new BackupError('NINES_BACKUP_CORRUPT', `${only(manifest).path}: SQLite integrity check: ${String(result)}`);
        } finally {
          db.close();
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },

    compare: async (_dir, manifest, _key, to) => differences(recordedTables(manifest), await countRows(resolve(to))),

    async restore(dir, manifest, key, to, force) {
      const dest = resolve(to);
      const existing = await stat(dest).catch(() => undefined);
      if (existing !== undefined && existing.size > 0 && !force)
        throw new BackupError('NINES_RESTORE_REFUSED', `${dest} exists and is not empty: stop its writers and add --force to replace it`);
      const temp = join(dirname(dest), `.${basename(dest)}.nines-restore`);
      try {
        await extract(dir, manifest, key, temp);
        await fsyncPath(temp);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      // a -wal left from the old file would be replayed onto the restored one
      await rm(`${dest}-wal`, { force: true });
      await rm(`${dest}-shm`, { force: true });
      await rename(temp, dest);
      await fsyncPath(dirname(dest));
    },
  };
}

function only(manifest: Manifest) {
  return manifest.artifacts[0] as Manifest['artifacts'][number];
}

/** Rows per table of the SQLite file `path` (its own tables, not SQLite's `sqlite_*`). */
async function countRows(path: string): Promise<Record<string, number>> {
  const db = await openSqlite(path, true);
  try {
    const names = db
      .prepare("select name from sqlite_schema where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name")
      .pluck()
      .all() as string[];
    const counts: Record<string, number> = {};
    for (const name of names)
      counts[name] = db
        .prepare(`select count(*) from "${name.replaceAll('"', '""')}"`)
        .pluck()
        .get() as number;
    return counts;
  } finally {
    db.close();
  }
}

/** Decrypts and decompresses the copy into `file`. */
async function extract(dir: string, manifest: Manifest, key: BackupKey | undefined, file: string): Promise<void> {
  const compression = (manifest.options.compression ?? 'none') as Compression;
  await pipeline(readPlain(dir, only(manifest), key), decompressor(compression), createWriteStream(file, { mode: 0o600 }));
}
