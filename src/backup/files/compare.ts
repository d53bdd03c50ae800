import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../artifact.js';
import type { FileEntry } from './file-list.js';

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** What an entry on disk is, in the file list's words. */
function kind(st: Stats): FileEntry['type'] | 'other' {
  return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other';
}

/**
 * Compares the tree at `root` with a file list: one line per difference (missing, not in the
 * backup, another type, mode, size, SHA-256, mtime of a file, symlink target, a hard link that is a
 * separate file), empty when they agree. Every file is read and hashed.
 */
export async function compareTree(root: string, list: ReadonlyMap<string, FileEntry>): Promise<string[]> {
  const found = new Map<string, Stats>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(rel === '.' ? root : join(root, rel))).sort()) {
      const path = rel === '.' ? name : `${rel}/${name}`;
      const st = await lstat(join(root, path));
      found.set(path, st);
      if (st.isDirectory()) await walk(path);
    }
  };
  const top = await lstat(root).catch(() => undefined);
  if (top === undefined) return [`${root}: missing`];
  found.set('.', top);
  await walk('.');
  const out: string[] = [];
  for (const path of found.keys()) if (!list.has(path)) out.push(`${path}: not in the backup`);
  for (const e of list.values()) {
    const st = found.get(e.path);
    if (st === undefined) {
      out.push(`${e.path}: missing`);
      continue;
    }
    const is = kind(st);
    const want = e.type === 'hardlink' ? 'file' : e.type;
    if (is !== want) {
      out.push(`${e.path}: a ${is}, the backup has a ${e.type}`);
      continue;
    }
    if (e.type === 'symlink') {
      const target = await readlink(join(root, e.path));
      if (target !== e.target) out.push(`${e.path}: a symlink to ${target}, the backup has ${e.target}`);
      continue;
    }
    if ((st.mode & 0o7777) !== e.mode) out.push(`${e.path}: mode ${octal(st.mode & 0o7777)}, the backup has ${octal(e.mode)}`);
    if (e.type === 'dir') continue;
    if (st.size !== e.size) out.push(`${e.path}: ${st.size} bytes, the backup has ${e.size}`);
    else {
      const { sha256 } = await hashFile(join(root, e.path));
      if (sha256 !== e.sha256) out.push(`${e.path}: SHA-256 ${sha256}, the backup has ${e.sha256}`);
    }
    if (Math.abs(Math.floor(st.mtimeMs) - e.mtime) > 1) out.push(`${e.path}: modified ${iso(st.mtimeMs)}, the backup has ${iso(e.mtime)}`);
    if (e.type === 'hardlink') {
      const first = found.get(e.link as string);
      if (first !== undefined && first.ino !== st.ino) out.push(`${e.path}: a separate file, the backup has a hard link to ${e.link}`);
    }
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();
