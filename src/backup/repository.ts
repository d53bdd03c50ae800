import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { type Clock, systemClock } from '../core/clock.js';
import { BackupError } from './errors.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, type Manifest, manifestSchema } from './manifest.js';

/** Prefix of a backup still being written; `list` never shows such a folder. */
const PENDING = '.tmp-';
/** Inside a pending folder: who writes it, so the next create removes it only once its writer is gone. */
const OWNER = '.owner.json';
/** What a backup id looks like: the target's name, the start time, a random suffix. */
const ID = /^[a-z0-9][a-z0-9._-]*-\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** Options of a {@link Repository}. */
export interface RepositoryOptions {
  /** Source of backup start times and ids. Default the system clock. */
  clock?: Clock;
}

/**
 * The backup repository: a directory with one folder per backup. A backup is written under a
 * `.tmp-` name and renamed to its id only once its manifest is written and synced, so a crash at
 * any moment leaves either a complete backup or a pending folder that {@link list} ignores and the
 * next {@link begin} removes.
 */
export class Repository {
  /** The repository's directory. */
  readonly root: string;
  readonly #clock: Clock;

  constructor(root: string, options: RepositoryOptions = {}) {
    this.root = root;
    this.#clock = options.clock ?? systemClock;
  }

  /** The folder of backup `id`. */
  dir(id: string): string {
    return join(this.root, id);
  }

  /** Every complete backup, oldest first, optionally of one target. */
  async list(target?: string): Promise<Manifest[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const manifests: Manifest[] = [];
    for (const name of names) {
      if (name.startsWith('.') || !ID.test(name)) continue;
      const manifest = await this.#read(name).catch(() => undefined);
      if (manifest !== undefined && (target === undefined || manifest.target === target)) manifests.push(manifest);
    }
    return manifests.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  /** The manifest of backup `id`; a {@link BackupError} `NINES_BACKUP_NOT_FOUND` when there is no complete backup of that id. */
  async get(id: string): Promise<Manifest> {
    if (!ID.test(id)) throw new BackupError('NINES_BACKUP_NOT_FOUND', `no backup ${JSON.stringify(id)}: not a backup id`);
    try {
      return await this.#read(id);
    } catch (error) {
      if (error instanceof BackupError) throw error;
      throw new BackupError('NINES_BACKUP_NOT_FOUND', `no backup ${id} in ${this.root}`, { cause: error });
    }
  }

  async #read(id: string): Promise<Manifest> {
    const text = await readFile(join(this.root, id, MANIFEST_FILE), 'utf8');
    const parsed = manifestSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      const format = (JSON.parse(text) as { format?: unknown }).format;
      const why = format !== MANIFEST_FORMAT ? `manifest format ${String(format)} is not ${MANIFEST_FORMAT}` : 'manifest is malformed';
      throw new BackupError('NINES_BACKUP_CORRUPT', `${id}/${MANIFEST_FILE}: ${why}`, { file: MANIFEST_FILE });
    }
    if (parsed.data.id !== id) throw new BackupError('NINES_BACKUP_CORRUPT', `${id}/${MANIFEST_FILE}: names backup ${parsed.data.id}`);
    return parsed.data;
  }

  /**
   * Removes pending folders whose writer is gone (a crashed or killed create, on this host); returns
   * their names. A pending folder of a live process, or of another host, is left alone.
   */
  async cleanLeftovers(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (!name.startsWith(PENDING)) continue;
      const dir = join(this.root, name);
      if (!(await abandoned(dir, this.#clock.now()))) continue;
      await rm(dir, { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }

  /** Starts a backup of `target`: removes leftovers, then makes its pending folder. */
  async begin(target: string): Promise<PendingBackup> {
    await mkdirp(this.root);
    const removed = await this.cleanLeftovers();
    const now = this.#clock.now();
    const stamp = new Date(now)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z');
    const id = `${target}-${stamp}-${randomBytes(3).toString('hex')}`;
    const dir = join(this.root, `${PENDING}${id}`);
    // backups hold the data itself: readable by the owner only
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, OWNER), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date(now).toISOString() }));
    return new PendingBackup(this, id, dir, now, removed);
  }
}

/** A backup being written in its pending folder; {@link commit} makes it complete, {@link abort} removes it. */
export class PendingBackup {
  /** Its id: the folder's name once complete. */
  readonly id: string;
  /** The pending folder, where its artifacts are written. */
  readonly dir: string;
  /** When it started, epoch ms. */
  readonly startedAt: number;
  /** Leftovers of crashed creates that {@link Repository.begin} removed first. */
  readonly removedLeftovers: readonly string[];
  readonly #repository: Repository;

  constructor(repository: Repository, id: string, dir: string, startedAt: number, removedLeftovers: string[]) {
    this.#repository = repository;
    this.id = id;
    this.dir = dir;
    this.startedAt = startedAt;
    this.removedLeftovers = removedLeftovers;
  }

  /** Syncs every artifact, writes and syncs the manifest, then renames the folder to the backup's id and syncs the repository. */
  async commit(manifest: Manifest): Promise<string> {
    const folders = new Set<string>();
    for (const a of manifest.artifacts) {
      await fsyncPath(join(this.dir, a.path));
      folders.add(dirname(join(this.dir, a.path)));
    }
    for (const folder of folders) await fsyncPath(folder);
    const file = join(this.dir, MANIFEST_FILE);
    await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await fsyncPath(file);
    await fsyncPath(this.dir);
    const final = this.#repository.dir(this.id);
    await rename(this.dir, final);
    await fsyncPath(this.#repository.root);
    // kept until the rename, so a crash just before it leaves a leftover the next create recognises
    await rm(join(final, OWNER), { force: true });
    return final;
  }

  /** Removes the pending folder (a failed create). */
  async abort(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A pending folder is abandoned when its owner process on this host is gone, or when it has no owner file and is an hour old. */
async function abandoned(dir: string, now: number): Promise<boolean> {
  let owner: { pid?: unknown; host?: unknown };
  try {
    owner = JSON.parse(await readFile(join(dir, OWNER), 'utf8')) as typeof owner;
  } catch {
    // no owner file: created by a process that died before writing it, or already committing
    const info = await stat(dir).catch(() => undefined);
    return info !== undefined && now - info.mtimeMs > 3_600_000;
  }
  if (owner.host !== hostname() || typeof owner.pid !== 'number') return false;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function mkdirp(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** fsync of a file or directory, so a rename after it never exposes unwritten data. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
