import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { readDecompressed, type Written, writeArtifact } from '../artifact.js';
import { BackupError } from '../errors.js';
import type { BackupKey } from '../key.js';
import type { Manifest } from '../manifest.js';

/** The file list's name inside a backup, before the suffixes. */
export const FILE_LIST = 'files.list.jsonl';

/** One entry of a tree as backed up: a line of the file list. */
export interface FileEntry {
  /** Relative to the target's path, `/`-separated; the root itself is `.`. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  /** Permission bits (`0o7777`). */
  mode: number;
  /** Bytes of a file (of a hard link's file); 0 for the others. */
  size: number;
  /** Modification time, epoch ms. */
  mtime: number;
  /** SHA-256 of a file's bytes (a hard link's too), hex. */
  sha256?: string;
  /** A symlink's target. */
  target?: string;
  /** A hard link: the path listed first of the file it shares. */
  link?: string;
  /** The backup of the chain whose archive holds a file's bytes, when not this one (an unchanged file of an incremental). */
  backup?: string;
}

/** Writes `entries` as the file list artifact (gzip, encrypted with `key`). */
export function writeFileList(dir: string, entries: readonly FileEntry[], key: BackupKey | undefined): Promise<Written> {
  const lines = function* () {
    for (let i = 0; i < entries.length; i += 1000)
      yield Buffer.from(
        entries
          .slice(i, i + 1000)
          .map((e) => `${JSON.stringify(e)}\n`)
          .join(''),
      );
  };
  // read back as written: every line parses, and there are as many as entries
  const check = async (plain: Readable, path: string) => {
    let n = 0;
    for await (const line of createInterface({ input: plain, crlfDelay: Number.POSITIVE_INFINITY }))
      if (line !== '') n += parse(line, path) && 1;
    if (n !== entries.length)
      throw new BackupError('NINES_BACKUP_CORRUPT', `${path}: ${n} lines read back, ${entries.length} written`, { file: path });
  };
  return writeArtifact(dir, FILE_LIST, Readable.from(lines()), { compression: 'gzip', key, check });
}

/** One line of a file list. */
function parse(line: string, path: string): FileEntry {
  const entry = JSON.parse(line) as FileEntry;
  if (typeof entry.path !== 'string' || typeof entry.type !== 'string')
    throw new BackupError('NINES_BACKUP_CORRUPT', `${path}: not a file list line`, { file: path });
  // a restore creates what the list names: never outside the target (node-tar guards the archive's paths the same way)
  const outside = entry.path.startsWith('/') || entry.path.split('/').some((part) => part === '..' || part === '');
  if (outside || (entry.link !== undefined && (entry.link.startsWith('/') || entry.link.split('/').includes('..'))))
    throw new BackupError('NINES_BACKUP_CORRUPT', `${path}: ${JSON.stringify(entry.path)} is not a path inside the tree`, { file: path });
  return entry;
}

/** The artifact of the manifest's file list; undefined for a backup that recorded none (written before lists existed). */
export function listArtifact(manifest: Manifest): Manifest['artifacts'][number] | undefined {
  const contents = manifest.contents;
  if (contents === undefined || !('files' in contents)) return undefined;
  return manifest.artifacts.find((a) => a.path === contents.files.list);
}

/** Reads the file list of backup `manifest` in `dir`, by path; a list that cannot be read is `NINES_BACKUP_CORRUPT` naming it. */
export async function readFileList(dir: string, manifest: Manifest, key: BackupKey | undefined): Promise<Map<string, FileEntry>> {
  const artifact = listArtifact(manifest);
  if (artifact === undefined) throw new BackupError('NINES_BACKUP_CORRUPT', `backup ${manifest.id}: its manifest names no file list`);
  const entries = new Map<string, FileEntry>();
  try {
    const plain = readDecompressed(dir, artifact, key, 'gzip');
    for await (const line of createInterface({ input: plain, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line === '') continue;
      const entry = parse(line, artifact.path);
      entries.set(entry.path, entry);
    }
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError('NINES_BACKUP_CORRUPT', `${artifact.path}: ${(error as Error).message}`, { file: artifact.path, cause: error });
  }
  return entries;
}
