import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type RetentionDecision, type RetentionPolicy, retention } from '../../retention.js';
import { type BaseBackup, baseBackups, baseDir } from './base.js';
import { archivedSegments, walDir } from './wal.js';

/** What pruning the base backups removes (or, in a dry run, would). */
export interface BasePrunePlan {
  decisions: RetentionDecision<BaseBackup & { end: number }>[];
  /** Archived segments older than the first segment any kept base backup needs. */
  wal: { segments: string[]; bytes: number };
  /** False for a dry run: nothing was removed. */
  removed: boolean;
}

/** The WAL position part of a segment name (timeline left out), which orders segments. */
const position = (segment: string): string => segment.slice(8);

/**
 * Applies `policy` to the base backups, and drops the archived WAL no kept base backup needs
 * (segments before the oldest kept one's first): a kept backup always keeps the WAL it recovers
 * with. Removes nothing unless `confirm`; the plan says what goes either way.
 */
export async function pruneBaseBackups(
  repository: string,
  policy: RetentionPolicy,
  options: { confirm?: boolean } = {},
): Promise<BasePrunePlan> {
  const bases = (await baseBackups(repository)).map((b) => ({ ...b, end: Math.floor(b.endedUs / 1000) }));
  const decisions = retention(bases, policy);
  const kept = decisions.filter((d) => d.keep).map((d) => d.backup);
  const oldestNeeded = kept.map((b) => position(b.startSegment)).sort()[0];
  const segments = (await archivedSegments(repository)).filter((s) => oldestNeeded !== undefined && position(s) < oldestNeeded);
  let bytes = 0;
  for (const s of segments) bytes += (await stat(join(walDir(repository), s))).size;
  const plan: BasePrunePlan = { decisions, wal: { segments, bytes }, removed: options.confirm === true };
  if (options.confirm !== true) return plan;
  for (const d of decisions) if (!d.keep) await rm(join(baseDir(repository), d.backup.id), { recursive: true, force: true });
  for (const s of segments) await rm(join(walDir(repository), s), { force: true });
  return plan;
}
