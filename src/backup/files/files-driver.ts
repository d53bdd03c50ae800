import { mkdir, readdir, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, matchesGlob, relative, resolve, sep } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import type { FilesTargetConfig } from '../../config/backup.js';
import { type Compression, decompressor, readPlain, writeArtifact } from '../artifact.js';
import { type DriverOutput, nothingRecorded, type TargetDriver } from '../driver.js';
import { BackupError } from '../errors.js';
import type { BackupKey } from '../key.js';
import type { Manifest } from '../manifest.js';

/** The archive's name inside a backup, before the compression's suffix. */
const ARCHIVE = 'files.tar';

const { version: tarVersion } = createRequire(import.meta.url)('tar/package.json') as { version: string };

/** True when `rel` (relative, `/`-separated) matches one of `globs`; a glob without `/` matches a base name anywhere. */
export function excluded(rel: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matchesGlob(rel, glob) || (!glob.includes('/') && matchesGlob(basename(rel), glob)));
}

/**
 * A directory tree as one tar stream (modes, mtimes, symlinks as links, never followed), compressed
 * with gzip or zstd. Paths matching `exclude` are left out, and so is the backup repository when it
 * lies inside the tree.
 */
export function filesDriver(target: FilesTargetConfig, repository: string): TargetDriver {
  const root = resolve(target.path);
  return {
    async create(dir, key): Promise<DriverOutput> {
      const top = await stat(root).catch(() => undefined);
      if (!top?.isDirectory()) throw new BackupError('NINES_BACKUP_FAILED', `${root}: not a directory`);
      const repo = relative(await realpath(root), await realpath(repository).catch(() => resolve(repository)));
      const skipRepo = repo !== '' && !repo.startsWith('..') ? repo.split(sep).join('/') : undefined;
      const filter = (path: string) => {
        const rel = path.replace(/^\.\/?/, '');
        if (rel === '') return true;
        if (skipRepo !== undefined && (rel === skipRepo || rel.startsWith(`${skipRepo}/`))) return false;
        return !excluded(rel, target.exclude);
      };
      const pack = tar.c({ cwd: root, portable: false, follow: false, filter }, ['.']);
      const written = await writeArtifact(dir, ARCHIVE, Readable.from(pack), { compression: target.compression, key });
      return {
        artifacts: [written.artifact],
        sourceBytes: written.sourceBytes,
        source: { path: root },
        tools: { tar: `node-tar ${tarVersion}` },
        options: { compression: target.compression, exclude: target.exclude.join(',') },
      };
    },

    async verify(dir, manifest, key) {
      const artifact = only(manifest);
      const parser = new tar.Parser({ strict: true, onReadEntry: (entry) => entry.resume() });
      await intoTar(stream(dir, manifest, key), parser, artifact.path);
    },

    compare: async (_dir, manifest) => nothingRecorded(manifest),

    async restore(dir, manifest, key, to, force) {
      const dest = resolve(to);
      const entries = await readdir(dest).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
      if (entries.length > 0 && !force)
        throw new BackupError(
          'NINES_RESTORE_REFUSED',
          `${dest} is not empty: restore into an empty or new directory, or add --force to write over it (files not in the backup stay)`,
        );
      await mkdir(dest, { recursive: true });
      // modes exactly as archived (no umask); owners only when run as root, as tar(1) does
      const unpack = new tar.Unpack({
        cwd: dest,
        strict: true,
        chmod: true,
        processUmask: 0,
        maxDecompressionRatio: Number.POSITIVE_INFINITY,
      });
      await intoTar(stream(dir, manifest, key), unpack, only(manifest).path);
    },
  };
}

function only(manifest: Manifest) {
  return manifest.artifacts[0] as Manifest['artifacts'][number];
}

/** The decrypted, decompressed tar stream of a backup. */
function stream(dir: string, manifest: Manifest, key: BackupKey | undefined): Readable {
  const out = new PassThrough();
  const compression = (manifest.options.compression ?? 'none') as Compression;
  pipeline(readPlain(dir, only(manifest), key), decompressor(compression), out).catch((error: unknown) => out.destroy(error as Error));
  return out;
}

/** Writes a tar stream into a tar Parser or Unpack and waits until it has handled every entry; its errors name `file`. */
async function intoTar(source: Readable, parser: tar.Parser, file: string): Promise<void> {
  const finished = new Promise<void>((resolve, reject) => {
    parser.on('close', () => resolve());
    parser.on('error', (error: Error) =>
      reject(
        error instanceof BackupError ? error : new BackupError('NINES_BACKUP_CORRUPT', `${file}: ${error.message}`, { file, cause: error }),
      ),
    );
  });
  try {
    for await (const chunk of source) {
      if (!parser.write(chunk as Buffer)) await new Promise((r) => parser.once('drain', r));
    }
  } catch (error) {
    parser.abort(error as Error);
    await finished.catch(() => undefined);
    throw error;
  }
  parser.end();
  await finished;
}
