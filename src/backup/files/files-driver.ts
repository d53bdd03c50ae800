import { createHash } from 'node:crypto';
import { chmod, link, lutimes, mkdir, readdir, realpath, rm, stat, symlink, utimes } from 'node:fs/promises';
import { basename, join, matchesGlob, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import * as tar from 'tar';
import type { FilesTargetConfig } from '../../config/backup.js';
import { type Compression, readDecompressed, writeArtifact } from '../artifact.js';
import { chainOf } from '../chain.js';
import { type DriverOutput, nothingRecorded, type TargetDriver } from '../driver.js';
import { BackupError } from '../errors.js';
import type { BackupKey } from '../key.js';
import type { Manifest } from '../manifest.js';
import { Repository } from '../repository.js';
import { compareTree } from './compare.js';
import { type FileEntry, listArtifact, readFileList, writeFileList } from './file-list.js';
import { packTree } from './pack.js';

/** The archive's name inside a backup, before the compression's suffix. */
const ARCHIVE = 'files.tar';

/** True when `rel` (relative, `/`-separated) matches one of `globs`; a glob without `/` matches a base name anywhere. */
export function excluded(rel: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matchesGlob(rel, glob) || (!glob.includes('/') && matchesGlob(basename(rel), glob)));
}

/**
 * A directory tree as one tar stream (modes, mtimes, symlinks as links, never followed, hard links
 * as hard links), compressed with gzip or zstd, and a file list with every entry's SHA-256. Paths
 * matching `exclude` are left out, and so is the backup repository when it lies inside the tree. An
 * incremental backup packs only what changed since its parent and lists the whole tree.
 */
export function filesDriver(target: FilesTargetConfig, repository: string): TargetDriver {
  const root = resolve(target.path);
  const repo = new Repository(repository);
  return {
    async create(dir, key, parent): Promise<DriverOutput> {
      const top = await stat(root).catch(() => undefined);
      if (!top?.isDirectory()) throw new BackupError('NINES_BACKUP_FAILED', `${root}: not a directory`);
      const inside = relative(await realpath(root), await realpath(repository).catch(() => resolve(repository)));
      const skipRepo = inside !== '' && !inside.startsWith('..') ? inside.split(sep).join('/') : undefined;
      const skip = (rel: string) =>
        (skipRepo !== undefined && (rel === skipRepo || rel.startsWith(`${skipRepo}/`))) || excluded(rel, target.exclude);
      const base = parent === undefined ? undefined : { id: parent.id, entries: await readFileList(repo.dir(parent.id), parent, key) };
      const pack = packTree({ root, skip, parent: base });
      // the archive is read back as it is written (see verified below), not again from disk
      let found: Awaited<ReturnType<typeof tarFiles>> = new Map();
      const archive = await writeArtifact(dir, ARCHIVE, pack.stream, {
        compression: target.compression,
        key,
        check: async (plain, path) => {
          found = await tarFiles(plain, path);
        },
      });
      matchList(archive.artifact.path, found, pack.entries);
      const list = await writeFileList(dir, pack.entries, key);
      const bytes = pack.entries.reduce((sum, e) => sum + (e.type === 'file' ? e.size : 0), 0);
      return {
        artifacts: [archive.artifact, list.artifact],
        sourceBytes: archive.sourceBytes,
        source: { path: root },
        tools: { tar: 'nines (POSIX pax)' },
        options: {
          compression: target.compression,
          exclude: target.exclude.join(','),
          ...(base === undefined ? {} : { packedFiles: pack.packed.files, packedBytes: pack.packed.bytes }),
        },
        contents: { files: { list: list.artifact.path, entries: pack.entries.length, bytes } },
        verified: true,
      };
    },

    async verify(dir, manifest, key) {
      const found = await tarFiles(stream(dir, manifest, key), archiveOf(manifest).path);
      if (listArtifact(manifest) !== undefined)
        matchList(archiveOf(manifest).path, found, (await readFileList(dir, manifest, key)).values());
    },

    async compare(dir, manifest, key, to) {
      if (listArtifact(manifest) === undefined) nothingRecorded(manifest);
      return compareTree(resolve(to), await readFileList(dir, manifest, key));
    },

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
      if (listArtifact(manifest) === undefined) return unpack(dir, manifest, key, dest, () => true); // written before file lists
      const list = await readFileList(dir, manifest, key);
      for (const e of list.values()) if (e.type === 'dir') await mkdir(join(dest, e.path), { recursive: true, mode: 0o700 });
      // each backup of the chain gives the files whose bytes it holds
      for (const m of await chainOf(repo, manifest))
        await unpack(repo.dir(m.id), m, key, dest, (path, type) => {
          const e = list.get(path);
          return type === 'File' && e?.type === 'file' && (e.backup ?? manifest.id) === m.id;
        });
      // links from the list: node-tar refuses a symlink whose target passes through another symlink, which tar(1) allows
      for (const e of list.values()) {
        if (e.type !== 'symlink' && e.type !== 'hardlink') continue;
        const path = join(dest, e.path);
        await rm(path, { force: true });
        if (e.type === 'symlink') await symlink(e.target as string, path);
        else await link(join(dest, e.link as string), path);
      }
      await applyMetadata(dest, list);
    },
  };
}

/** A path as a tar entry names it, as the file list does. */
const listed = (path: string) => path.replace(/^(\.\/)+/, '').replace(/\/+$/, '') || '.';

/** Extracts the entries of a backup's archive that `wanted` picks; modes exactly as archived (no umask), owners only as root, as tar(1) does. */
async function unpack(
  dir: string,
  manifest: Manifest,
  key: BackupKey | undefined,
  dest: string,
  wanted: (path: string, type: string) => boolean,
): Promise<void> {
  const unpacker = new tar.Unpack({
    cwd: dest,
    strict: true,
    chmod: true,
    processUmask: 0,
    maxDecompressionRatio: Number.POSITIVE_INFINITY,
    filter: (path, entry) => wanted(listed(path), (entry as tar.ReadEntry).type),
  });
  await intoTar(stream(dir, manifest, key), unpacker, archiveOf(manifest).path);
}

/** Modes and mtimes exactly as listed: children before their folder, so a read-only folder is set last; a symlink's own mtime, never its target's. */
async function applyMetadata(dest: string, list: ReadonlyMap<string, FileEntry>): Promise<void> {
  const entries = [...list.values()].sort((a, b) => (a.path === '.' ? 1 : b.path === '.' ? -1 : a.path < b.path ? 1 : -1));
  for (const e of entries) {
    const path = join(dest, e.path);
    const at = e.mtime / 1000;
    if (e.type === 'symlink') await lutimes(path, at, at);
    else {
      await chmod(path, e.mode);
      await utimes(path, at, at);
    }
  }
}

/** Reads a whole tar stream (a parse error is `NINES_BACKUP_CORRUPT` naming `file`): its regular files' sizes and SHA-256s, by listed path. */
async function tarFiles(source: Readable, file: string): Promise<Map<string, { size: number; sha256: string }>> {
  const found = new Map<string, { size: number; sha256: string }>();
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (entry.type !== 'File') return entry.resume();
      const hash = createHash('sha256');
      entry.on('data', (chunk: Buffer) => hash.update(chunk));
      entry.on('end', () => found.set(listed(entry.path), { size: entry.size, sha256: hash.digest('hex') }));
    },
  });
  await intoTar(source, parser, file);
  return found;
}

/** The archive holds exactly the files the list says this backup holds, each with its listed size and SHA-256. */
function matchList(file: string, found: ReadonlyMap<string, { size: number; sha256: string }>, list: Iterable<FileEntry>): void {
  const problems: string[] = [];
  let expected = 0;
  for (const e of list) {
    if (e.type !== 'file' || e.backup !== undefined) continue;
    expected++;
    const got = found.get(e.path);
    if (got === undefined) problems.push(`${e.path}: listed, not in the archive`);
    else if (got.sha256 !== e.sha256 || got.size !== e.size) problems.push(`${e.path}: the archive's bytes do not match the file list`);
  }
  if (found.size !== expected) problems.push(`${expected} files listed in this backup, ${found.size} in the archive`);
  if (problems.length > 0) throw new BackupError('NINES_BACKUP_CORRUPT', `${file}: ${problems.slice(0, 3).join('; ')}`, { file });
}

function archiveOf(manifest: Manifest) {
  return manifest.artifacts[0] as Manifest['artifacts'][number];
}

/** The decrypted, decompressed tar stream of a backup. */
function stream(dir: string, manifest: Manifest, key: BackupKey | undefined): Readable {
  return readDecompressed(dir, archiveOf(manifest), key, (manifest.options.compression ?? 'none') as Compression);
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
  // a parse error can come during a write, before `finished` is awaited: handled here, so it is
  // not an unhandled rejection, and it ends a wait for a drain that would never come
  finished.catch(() => undefined);
  try {
    for await (const chunk of source) {
      if (!parser.write(chunk as Buffer)) await Promise.race([new Promise((r) => parser.once('drain', r)), finished]);
    }
  } catch (error) {
    parser.abort(error as Error);
    await finished.catch(() => undefined);
    throw error;
  }
  parser.end();
  await finished;
}
