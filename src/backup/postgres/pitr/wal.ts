import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hashFile } from '../../artifact.js';
import { BackupRefusedError } from '../../errors.js';

/** WAL segment and history file names PostgreSQL archives (`000000010000000000000003`, `00000002.history`, a `.backup` label). */
const WAL_NAME = /^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$|^[0-9A-F]{8}\.history$/;

/** The repository's folder of archived WAL. */
export const walDir = (repository: string): string => join(repository, 'wal');

function checkName(name: string): void {
  if (!WAL_NAME.test(name)) throw new BackupRefusedError(`not a WAL file name: ${JSON.stringify(name)}`);
}

/**
 * `archive_command`: copies WAL file `source` into the repository as `name`, through a temporary
 * name, fsynced, then renamed, so a crash never leaves a torn segment under the real name. A file
 * already archived under `name` with the same content is success (PostgreSQL retries a command
 * whose answer it missed); with other content it is refused: two timelines or two clusters writing
 * to one archive would otherwise lose one of them.
 */
export async function archiveWal(repository: string, source: string, name: string): Promise<'archived' | 'already archived'> {
  checkName(name);
  const dir = walDir(repository);
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined) {
    if ((await hashFile(target)).sha256 === (await hashFile(source)).sha256) return 'already archived';
    throw new BackupRefusedError(
      `${name} is already archived with different content: refusing to overwrite it (is a second cluster or timeline archiving here?)`,
    );
  }
  const temp = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await copyFile(source, temp);
    const handle = await open(temp, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const dirHandle = await open(dir, 'r');
  await dirHandle.sync().finally(() => dirHandle.close()); // the rename itself survives a crash
  return 'archived';
}

/** `restore_command`: copies archived `name` to `destination`; false when the archive has no such file (the end of recovery). */
export async function fetchWal(repository: string, name: string, destination: string): Promise<boolean> {
  checkName(name);
  const source = join(walDir(repository), name);
  if ((await stat(source).catch(() => undefined)) === undefined) return false;
  await copyFile(source, destination);
  return true;
}

/** The archived WAL segments (not history or label files), oldest first. */
export async function archivedSegments(repository: string): Promise<string[]> {
  const names = await readdir(walDir(repository)).catch(() => [] as string[]);
  return names.filter((n) => /^[0-9A-F]{24}$/.test(n)).sort();
}
