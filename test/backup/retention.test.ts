import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pruneBaseBackups } from '../../src/backup/postgres/pitr/prune.js';
import { type Retainable, retention } from '../../src/backup/retention.js';
import { bin, ensureBuilt } from '../support/e2e.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 2, 3, 0); // Monday 2 November 2026, 03:00 UTC

/** One backup every 6 h for `days` days from T0; every fourth (03:00) a full one, the others incrementals on the one before. */
function history(days: number): Retainable[] {
  const out: Retainable[] = [];
  for (let i = 0; i < days * 4; i++) {
    const end = T0 + i * 6 * 3_600_000;
    out.push({ id: `b${String(i).padStart(3, '0')}`, end, parent: i % 4 === 0 ? null : `b${String(i - 1).padStart(3, '0')}` });
  }
  return out;
}

const kept = (decisions: ReturnType<typeof retention>) =>
  decisions
    .filter((d) => d.keep)
    .map((d) => d.backup.id)
    .sort();

describe('retention', () => {
  it('keeps the newest N, and the newest of each of the last days, weeks and months that have a backup', () => {
    const all = history(45).map(({ id, end }) => ({ id, end })); // fulls only: no chains
    const decisions = retention(all, { last: 3, daily: 2, weekly: 2, monthly: 2 });
    // newest is b179 (16 Dec 21:00); days 16 Dec (b179) and 15 Dec (b175); ISO weeks W51 (b179) and W50 (Sun 13 Dec, b167);
    // months December (b179) and November (30 Nov 21:00, b115)
    expect(kept(decisions)).toEqual(['b115', 'b167', 'b175', 'b177', 'b178', 'b179']);
    expect(decisions.find((d) => d.backup.id === 'b179')?.reasons).toEqual([
      'last',
      'daily 2026-12-16',
      'weekly 2026-W51',
      'monthly 2026-12',
    ]);
    expect(decisions.find((d) => d.backup.id === 'b115')?.reasons).toEqual(['monthly 2026-11']);
  });

  it('never leaves a kept incremental without its chain back to the full one', () => {
    const decisions = retention(history(10), { last: 1 });
    // b039 (the newest, 18:00... 21:00 of day 10) builds on b038, b037 and the full b036
    expect(kept(decisions)).toEqual(['b036', 'b037', 'b038', 'b039']);
    expect(decisions.find((d) => d.backup.id === 'b036')?.reasons).toEqual(['parent of b037']);
  });

  it('refuses a policy that keeps nothing, and a chain whose parent is gone', () => {
    expect(() => retention(history(1), {})).toThrow(/must keep something/);
    expect(() => retention(history(1), { last: 0, daily: 0 })).toThrow(/must keep something/);
    expect(() => retention(history(1), { last: 1.5 })).toThrow(/retention.last must be a whole number/);
    expect(() => retention([{ id: 'x', end: T0, parent: 'gone' }], { last: 1 })).toThrow(/x needs gone/);
  });
});

describe('pruning base backups and their WAL', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** The name of segment `n` of timeline 1. */
  const segment = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;

  /** A repository whose base backups end on consecutive days, each needing WAL from its own segment on. */
  function repository(): string {
    const repo = mkdtempSync(join(tmpdir(), 'nines-prune-'));
    dirs.push(repo);
    mkdirSync(join(repo, 'wal'), { recursive: true });
    for (let day = 0; day < 5; day++) {
      const id = `base-day${day}`;
      mkdirSync(join(repo, 'base', id), { recursive: true });
      const startSegment = segment(day * 2 + 2);
      const backup = { id, startedUs: (T0 + day * DAY) * 1000, endedUs: (T0 + day * DAY + 60_000) * 1000, startSegment, timeline: 1 };
      writeFileSync(
        join(repo, 'base', id, 'nines-base.json'),
        JSON.stringify({ ...backup, serverVersion: '15', tool: 'pg', segmentBytes: 16 << 20 }),
      );
    }
    for (let seg = 1; seg <= 12; seg++) writeFileSync(join(repo, 'wal', segment(seg)), 'x'.repeat(10));
    writeFileSync(join(repo, 'wal', '00000002.history'), '1\t0/0\tno recovery target specified\n');
    return repo;
  }

  it('a dry run removes nothing; confirmed, exactly the backups not kept and the WAL none of the kept needs', async () => {
    const repo = repository();
    const dry = await pruneBaseBackups(repo, { last: 2 });
    expect(dry.removed).toBe(false);
    expect(dry.decisions.filter((d) => !d.keep).map((d) => d.backup.id)).toEqual(['base-day2', 'base-day1', 'base-day0']);
    // the oldest kept (day 3) needs WAL from segment 08 on
    expect(dry.wal).toEqual({ segments: [1, 2, 3, 4, 5, 6, 7].map(segment), bytes: 70 });
    expect(readdirSync(join(repo, 'base')).sort()).toEqual(['base-day0', 'base-day1', 'base-day2', 'base-day3', 'base-day4']);
    expect(readdirSync(join(repo, 'wal'))).toHaveLength(13);

    const done = await pruneBaseBackups(repo, { last: 2 }, { confirm: true });
    expect(done.removed).toBe(true);
    expect(readdirSync(join(repo, 'base')).sort()).toEqual(['base-day3', 'base-day4']);
    expect(readdirSync(join(repo, 'wal')).sort()).toEqual([...[8, 9, 10, 11, 12].map(segment), '00000002.history']);
  });

  it('nines backup prune shows the plan as a dry run, and removes only with --confirm', () => {
    ensureBuilt();
    const repo = repository();
    const prune = (...args: string[]) =>
      spawnSync(process.execPath, [bin, 'backup', 'prune', '--repository', repo, '--keep-daily', '3', ...args], { encoding: 'utf8' });
    const dry = prune();
    expect([dry.status, dry.stderr]).toEqual([0, '']);
    expect(dry.stdout.split('\n').slice(0, 5)).toEqual([
      'keep   base-day4  daily 2026-11-06',
      'keep   base-day3  daily 2026-11-05',
      'keep   base-day2  daily 2026-11-04',
      'remove base-day1  ',
      'remove base-day0  ',
    ]);
    expect(dry.stdout).toContain('would remove 5 WAL segments (50 bytes)\ndry run: nothing was removed');
    expect(readdirSync(join(repo, 'base'))).toHaveLength(5);
    expect(prune('--confirm').status).toBe(0);
    expect(readdirSync(join(repo, 'base')).sort()).toEqual(['base-day2', 'base-day3', 'base-day4']);
    const bad = prune('--keep-last', 'many');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/expected a whole number/);
  });
});
