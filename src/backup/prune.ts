import { rm } from 'node:fs/promises';
import { type BackupContext, repositoryOf } from './backup.js';
import type { Manifest } from './manifest.js';
import { type RetentionDecision, type RetentionPolicy, retention } from './retention.js';

/** A backup as retention reads it. */
type Held = Manifest & { end: number };

/** What pruning the repository's backups removes (or, in a dry run, would), per target. */
export interface RepositoryPrunePlan {
  decisions: RetentionDecision<Held>[];
  /** False for a dry run: nothing was removed. */
  removed: boolean;
}

/**
 * Applies `policy` to the backups of each target (or of `target` alone), separately: the newest of
 * one target never pushes out another's. An incremental that is kept keeps its parents. Removes
 * nothing unless `confirm`.
 */
export async function pruneRepository(
  context: BackupContext,
  policy: RetentionPolicy,
  options: { target?: string; confirm?: boolean } = {},
): Promise<RepositoryPrunePlan> {
  const repository = repositoryOf(context);
  const all = await repository.list(options.target);
  const byTarget = new Map<string, Held[]>();
  for (const m of all) byTarget.set(m.target, [...(byTarget.get(m.target) ?? []), { ...m, end: Date.parse(m.endedAt) }]);
  const decisions = [...byTarget.values()].flatMap((backups) => retention(backups, policy));
  if (options.confirm === true) {
    for (const d of decisions) if (!d.keep) await rm(repository.dir(d.backup.id), { recursive: true, force: true });
  }
  return { decisions, removed: options.confirm === true };
}
