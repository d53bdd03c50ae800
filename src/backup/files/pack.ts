import { createHash } from 'node:crypto';
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';
import { BackupError } from '../errors.js';
import type { FileEntry } from './file-list.js';
import { END, padding, tarHeader } from './tar-header.js';

/** Bytes read from a file at a time, and about what is handed on at once. */
const CHUNK = 1024 * 1024;
/** The event loop gets a turn at least this often (ms): packing reads synchronously, which is what makes it fast. */
const SLICE_MS = 10;

/** What {@link packTree} packs, and an incremental's parent. */
export interface PackOptions {
  root: string;
  /** True for a relative path to leave out. */
  skip: (rel: string) => boolean;
  /** An incremental's parent: only files whose size or mtime differ from its list are packed. */
  parent?: { id: string; entries: ReadonlyMap<string, FileEntry> } | undefined;
}

/** A tree being packed: the tar stream, and the file list, complete once the stream has ended. */
export interface Packed {
  stream: Readable;
  entries: FileEntry[];
  /** Files whose bytes are in this archive. */
  packed: { files: number; bytes: number };
}

/**
 * Packs the tree at `root` as one tar stream: modes, mtimes, symlinks as links (never followed), a
 * second path of a hard-linked file as a hard link. Each file is read once, hashed as it is packed.
 * Sockets, FIFOs and devices are left out. With a parent, an unchanged file (same type, size and
 * mtime) is listed with the parent's hash and not packed; a file whose mtime changed but whose
 * bytes did not (hashed first) is listed with the new metadata and not packed either.
 */
export function packTree(options: PackOptions): Packed {
  const entries: FileEntry[] = [];
  const packed = { files: 0, bytes: 0 };
  return { stream: Readable.from(batched(walk(options, entries, packed)), { objectMode: false }), entries, packed };
}

/** Joins small buffers into chunks of about {@link CHUNK}, and gives the event loop a turn every {@link SLICE_MS}. */
async function* batched(source: Iterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let bytes = 0;
  let slice = performance.now();
  for (const buffer of readable(source)) {
    parts.push(buffer);
    bytes += buffer.length;
    if (bytes < CHUNK) continue;
    yield parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes);
    parts = [];
    bytes = 0;
    if (performance.now() - slice > SLICE_MS) {
      await setImmediate();
      slice = performance.now();
    }
  }
  if (bytes > 0) yield Buffer.concat(parts, bytes);
}

/** `source`, with a file system error as a {@link BackupError} naming the path (a file that vanished while the tree was read). */
function* readable(source: Iterable<Buffer>): Generator<Buffer> {
  try {
    yield* source;
  } catch (error) {
    const { code, path } = error as NodeJS.ErrnoException;
    if (code === undefined || error instanceof BackupError) throw error;
    throw new BackupError(
      'NINES_BACKUP_FAILED',
      `${path ?? 'tree'}: ${code} while the tree was read (changed meanwhile? stop its writers)`,
      { cause: error },
    );
  }
}

function* walk(o: PackOptions, entries: FileEntry[], packed: Packed['packed']): Generator<Buffer> {
  const inodes = new Map<string, FileEntry>();
  const top = lstatSync(o.root);
  entries.push(meta('.', 'dir', top));
  // the root as `./`, as tar(1) writes it: an incremental with nothing changed is still a valid, non-empty archive
  yield tarHeader(header('.', 'dir', top));
  // depth first, names sorted: the order tar(1) gives, and the same list for the same tree
  function* dir(rel: string): Generator<Buffer> {
    const names = readdirSync(rel === '' ? o.root : join(o.root, rel)).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      if (o.skip(path)) continue;
      const full = join(o.root, path);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        entries.push(meta(path, 'dir', st));
        yield tarHeader(header(path, 'dir', st));
        yield* dir(path);
      } else if (st.isSymbolicLink()) {
        const target = readlinkSync(full);
        entries.push({ ...meta(path, 'symlink', st), target });
        yield tarHeader({ ...header(path, 'symlink', st), linkname: target });
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(inode) : undefined;
        if (first !== undefined) {
          entries.push({ ...meta(path, 'hardlink', st), size: first.size, sha256: first.sha256 as string, link: first.path });
          yield tarHeader({ ...header(path, 'hardlink', st), linkname: first.path });
          continue;
        }
        yield* file(o, path, full, st, entries, packed);
        if (st.nlink > 1) inodes.set(inode, entries.at(-1) as FileEntry);
      }
    }
  }
  yield* dir('');
  yield END;
}

/** A file: listed from the parent when unchanged, otherwise packed and hashed as it is read. */
function* file(o: PackOptions, path: string, full: string, st: Stats, entries: FileEntry[], packed: Packed['packed']): Generator<Buffer> {
  const before = o.parent?.entries.get(path);
  const entry = meta(path, 'file', st);
  if (before !== undefined && o.parent !== undefined && before.type === 'file' && before.size === st.size && before.sha256 !== undefined) {
    const unchanged = before.mtime === entry.mtime || hashOf(full, st.size) === before.sha256;
    if (unchanged) {
      entries.push({ ...entry, sha256: before.sha256, backup: before.backup ?? o.parent.id });
      return;
    }
  }
  const fd = openSync(full, 'r');
  try {
    // the header needs the size before the bytes: the size as opened; a file that shrinks meanwhile fails the backup
    const size = fstatSync(fd).size;
    yield tarHeader(header(path, 'file', { ...st, size } as Stats));
    const hash = createHash('sha256');
    for (let at = 0; at < size; ) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - at));
      const n = readSync(fd, buffer, 0, buffer.length, at);
      if (n === 0)
        throw new BackupError('NINES_BACKUP_FAILED', `${full}: shrank while it was read (${at} of ${size} bytes): stop its writers`);
      const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
      hash.update(chunk);
      yield chunk;
      at += n;
    }
    yield padding(size);
    entries.push({ ...entry, size, sha256: hash.digest('hex') });
    packed.files++;
    packed.bytes += size;
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 of the first `size` bytes of a file. */
function hashOf(full: string, size: number): string {
  const fd = openSync(full, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function meta(path: string, type: FileEntry['type'], st: Stats): FileEntry {
  return { path, type, mode: st.mode & 0o7777, size: type === 'file' ? st.size : 0, mtime: Math.floor(st.mtimeMs) };
}

function header(path: string, type: FileEntry['type'], st: Stats) {
  return { path, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, mtime: st.mtimeMs / 1000 };
}
