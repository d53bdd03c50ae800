import { BackupError } from './errors.js';
import type { Manifest } from './manifest.js';
import type { Repository } from './repository.js';

/**
 * The backups `manifest` builds on and itself, oldest (the full backup) first. A parent that is not
 * in the repository breaks the chain: `NINES_BACKUP_CORRUPT` naming it, since nothing after it can
 * be restored.
 */
export async function chainOf(repository: Repository, manifest: Manifest): Promise<Manifest[]> {
  const chain = [manifest];
  for (let child = manifest; child.parent !== null; ) {
    const id = child.parent;
    const parent = await repository.get(id).catch((error: unknown) => {
      if (!(error instanceof BackupError) || error.code !== 'NINES_BACKUP_NOT_FOUND') throw error;
      throw new BackupError(
        'NINES_BACKUP_CORRUPT',
        `backup ${manifest.id} is incremental and needs ${id} (the parent of ${child.id}), which is not in the repository: the chain is broken; restore a backup before it`,
        { cause: error },
      );
    });
    if (chain.some((m) => m.id === parent.id))
      throw new BackupError('NINES_BACKUP_CORRUPT', `backup ${manifest.id}: its chain of parents loops at ${parent.id}`);
    if (parent.target !== manifest.target || parent.kind !== manifest.kind)
      throw new BackupError('NINES_BACKUP_CORRUPT', `backup ${child.id}: its parent ${parent.id} is of another target (${parent.target})`);
    chain.unshift(parent);
    child = parent;
  }
  return chain;
}
