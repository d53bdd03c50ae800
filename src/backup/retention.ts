import { InvalidOptionError } from '../core/errors.js';

/** How many backups to keep, as restic's `forget` counts them; a backup kept by any rule is kept. */
export interface RetentionPolicy {
  /** The newest N. */
  last?: number;
  /** The newest of each of the last N UTC days that have a backup. */
  daily?: number;
  /** The newest of each of the last N ISO weeks that have a backup. */
  weekly?: number;
  /** The newest of each of the last N months that have a backup. */
  monthly?: number;
}

/** What retention reads of a backup. */
export interface Retainable {
  id: string;
  /** Wall-clock ms it ended: what "newest" and its day are. */
  end: number;
  /** The backup it builds on (an incremental's parent), kept whenever it is. */
  parent?: string | null;
}

/** The decision for one backup, with why it is kept. */
export interface RetentionDecision<T extends Retainable> {
  backup: T;
  keep: boolean;
  /** `last`, `daily 2026-12-07`, `parent of …`; empty when it goes. */
  reasons: string[];
}

const RULES = ['last', 'daily', 'weekly', 'monthly'] as const;

/** Validates a policy: whole counts, at least one rule (an empty policy would delete everything). */
export function checkPolicy(policy: RetentionPolicy): RetentionPolicy {
  if (typeof policy !== 'object' || policy === null) throw new InvalidOptionError('retention must be an object');
  for (const rule of RULES) {
    const n = policy[rule];
    if (n !== undefined && (!Number.isInteger(n) || n < 0))
      throw new InvalidOptionError(`retention.${rule} must be a whole number ≥ 0, got ${String(n)}`);
  }
  if (!RULES.some((rule) => (policy[rule] ?? 0) > 0)) {
    throw new InvalidOptionError('retention must keep something: set last, daily, weekly or monthly above 0');
  }
  return policy;
}

/** The ISO 8601 week of `ms` (UTC), as `2026-W49`. */
function isoWeek(ms: number): string {
  const d = new Date(ms);
  const day = (d.getUTCDay() + 6) % 7; // Monday 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

const BUCKETS: Record<Exclude<(typeof RULES)[number], 'last'>, (ms: number) => string> = {
  daily: (ms) => new Date(ms).toISOString().slice(0, 10),
  weekly: isoWeek,
  monthly: (ms) => new Date(ms).toISOString().slice(0, 7),
};

/**
 * Which of `backups` `policy` keeps: the union of its rules, then every parent a kept backup needs
 * (so an incremental is never left without its chain). Pure: deleting is the caller's, after a dry
 * run has shown this.
 */
export function retention<T extends Retainable>(backups: readonly T[], policy: RetentionPolicy): RetentionDecision<T>[] {
  checkPolicy(policy);
  const newest = [...backups].sort((a, b) => b.end - a.end || (a.id < b.id ? 1 : -1));
  const reasons = new Map<string, string[]>(newest.map((b) => [b.id, []]));
  for (const b of newest.slice(0, policy.last ?? 0)) reasons.get(b.id)?.push('last');
  for (const rule of ['daily', 'weekly', 'monthly'] as const) {
    const count = policy[rule] ?? 0;
    const seen = new Set<string>();
    for (const b of newest) {
      const bucket = BUCKETS[rule](b.end);
      if (seen.has(bucket)) continue;
      if (seen.size === count) break;
      seen.add(bucket);
      reasons.get(b.id)?.push(`${rule} ${bucket}`);
    }
  }
  const byId = new Map(backups.map((b) => [b.id, b]));
  for (const b of newest) {
    if (reasons.get(b.id)?.length === 0) continue;
    for (let child = b; child.parent; ) {
      const parent = byId.get(child.parent);
      if (parent === undefined) throw new InvalidOptionError(`backup ${child.id} needs ${child.parent}, which is not in the repository`);
      const own = reasons.get(parent.id) as string[];
      const why = `parent of ${child.id}`;
      if (own.includes(why)) break; // this chain is walked already
      own.push(why);
      child = parent;
    }
  }
  return newest.map((backup) => {
    const why = reasons.get(backup.id) as string[];
    return { backup, keep: why.length > 0, reasons: why };
  });
}
