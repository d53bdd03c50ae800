/**
 * Incremental files backups on real trees: a full backup and two incrementals with adds,
 * modifications, deletes, mode changes, symlinks and hard links; the chain restored equals the
 * source, compare() finds every difference, a broken chain fails clearly, and retention keeps chains.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BackupContext,
  configuredKey,
  createBackup,
  driverFor,
  repositoryOf,
  restoreBackup,
  verifyBackup,
} from '../../src/backup/backup.js';
import { FILE_LIST, writeFileList } from '../../src/backup/files/file-list.js';
import type { Manifest } from '../../src/backup/manifest.js';
import { pruneRepository } from '../../src/backup/prune.js';
import { ManualClock } from '../../src/core/clock.js';
import { contextOf, failure, tempDir } from './helpers.js';
import { makeTree, snapshot } from './tree.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 1, 3, 0);

/** A files target on a fresh tree, with a manual clock (ids and ends in order), encrypted when asked. */
function setup(encrypted = false): { src: string; dir: string; context: BackupContext; clock: ManualClock } {
  const tmp = tempDir('backup-incr');
  cleanups.push(tmp.remove);
  const src = join(tmp.dir, 'src');
  makeTree(src);
  linkSync(join(src, 'a.txt'), join(src, 'hard.txt'));
  const clock = new ManualClock(T0);
  const context = {
    ...contextOf(
      {
        repository: join(tmp.dir, 'backups'),
        ...(encrypted ? { encryption: { keyEnv: 'K' } } : {}),
        targets: { tree: { type: 'files', path: src, exclude: ['*.tmp', 'cache'] } },
      },
      { K: randomBytes(32).toString('hex') },
    ),
    clock,
  };
  return { src, dir: tmp.dir, context, clock };
}

/** The snapshot without the excluded paths. */
const expected = (root: string) =>
  Object.fromEntries(Object.entries(snapshot(root)).filter(([path]) => !/\.tmp$/.test(path) && !/^cache(\/|$)/.test(path)));

/** What the files driver's compare() says of `to` against backup `m`. */
async function compare(context: BackupContext, m: Manifest, to: string): Promise<string[]> {
  const repository = repositoryOf(context);
  const target = context.config.targets[m.target];
  if (target === undefined) throw new Error('no target');
  const driver = await driverFor(target, repository.root);
  return driver.compare(repository.dir(m.id), m, await configuredKey(context), to);
}

/** Takes a backup one hour after the last. */
async function take(s: ReturnType<typeof setup>, type: 'full' | 'incremental') {
  await s.clock.advance(HOUR);
  return createBackup(s.context, 'tree', { type });
}

describe('incremental files backups', () => {
  for (const encrypted of [false, true]) {
    it(`a full and two incrementals${encrypted ? ' (encrypted)' : ''}: each restored equals its tree (hashes, modes, mtimes, symlinks, hard links)`, async () => {
      const s = setup(encrypted);
      const full = await take(s, 'full');
      const snap0 = expected(s.src);

      // adds, a modification, a delete, a mode change, a symlink retargeted, an mtime-only change, a new hard link
      writeFileSync(join(s.src, 'new.txt'), 'new file\n');
      writeFileSync(join(s.src, 'bin/run.sh'), '#!/bin/sh\necho changed\n');
      unlinkSync(join(s.src, 'group-read'));
      chmodSync(join(s.src, 'private/secret'), 0o400);
      unlinkSync(join(s.src, 'link'));
      symlinkSync('new.txt', join(s.src, 'link'));
      utimesSync(join(s.src, 'naïve name with spaces.md'), new Date('2021-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z'));
      linkSync(join(s.src, 'new.txt'), join(s.src, 'deep/new-hard.txt'));
      const inc1 = await take(s, 'incremental');
      expect(inc1).toMatchObject({ type: 'incremental', parent: full.id, options: { packedFiles: 2 } }); // new.txt, run.sh
      const snap1 = expected(s.src);

      // the big file goes, a folder comes, a file becomes a symlink, a file changes with its size kept
      rmSync(join(s.src, 'deep/a/b/c/blob.bin'));
      mkdirSync(join(s.src, 'fresh/sub'), { recursive: true });
      writeFileSync(join(s.src, 'fresh/sub/data.bin'), randomBytes(5000));
      unlinkSync(join(s.src, 'a.txt'));
      symlinkSync('hard.txt', join(s.src, 'a.txt'));
      writeFileSync(join(s.src, 'new.txt'), 'NEW FILE\n');
      utimesSync(join(s.src, 'new.txt'), new Date('2022-02-02T00:00:00Z'), new Date('2022-02-02T00:00:00Z'));
      chmodSync(join(s.src, 'private'), 0o750);
      const inc2 = await take(s, 'incremental');
      expect(inc2).toMatchObject({ type: 'incremental', parent: inc1.id });
      expect(inc2.sizes.stored).toBeLessThan(full.sizes.stored / 4); // the 2 MB blob is in the full backup only

      for (const [m, snap] of [
        [full, snap0],
        [inc1, snap1],
        [inc2, expected(s.src)],
      ] as const) {
        await verifyBackup(s.context, m.id);
        const out = join(s.dir, `out-${m.id}`);
        await restoreBackup(s.context, m.id, out);
        expect(snapshot(out)).toEqual(snap);
        expect(await compare(s.context, m, out)).toEqual([]);
      }
      const out2 = join(s.dir, `out-${inc2.id}`);
      expect(statSync(join(out2, 'hard.txt')).ino).toBe(statSync(join(out2, 'deep/a/..', '..', 'hard.txt')).ino);
      expect(statSync(join(out2, 'new.txt')).ino).toBe(statSync(join(out2, 'deep/new-hard.txt')).ino);
      expect(readFileSync(join(out2, 'deep/new-hard.txt'), 'utf8')).toBe('NEW FILE\n');
    }, 60_000);
  }

  it('compare() reports each difference of a restored tree, one line each', async () => {
    const s = setup();
    const full = await take(s, 'full');
    const out = join(s.dir, 'out');
    await restoreBackup(s.context, full.id, out);
    writeFileSync(join(out, 'bin/run.sh'), '#!/bin/sh\necho HI\n');
    chmodSync(join(out, 'bin/run.sh'), 0o755);
    utimesSync(join(out, 'bin/run.sh'), statSync(join(s.src, 'bin/run.sh')).atime, statSync(join(s.src, 'bin/run.sh')).mtime);
    chmodSync(join(out, 'group-read'), 0o600);
    rmSync(join(out, 'empty'), { recursive: true });
    writeFileSync(join(out, 'extra'), 'x');
    unlinkSync(join(out, 'link'));
    symlinkSync('elsewhere', join(out, 'link'));
    const lines = await compare(s.context, full, out);
    expect(lines).toEqual([
      'extra: not in the backup',
      expect.stringMatching(/^bin\/run\.sh: SHA-256 [0-9a-f]{64}, the backup has [0-9a-f]{64}$/),
      'empty: missing',
      'group-read: mode 0600, the backup has 0640',
      'link: a symlink to elsewhere, the backup has a.txt',
    ]);
  }, 60_000);

  it('a broken chain fails verify and restore clearly; only files targets take incrementals; the first one is a full', async () => {
    const s = setup();
    const first = await take(s, 'incremental');
    expect(first).toMatchObject({ type: 'full', parent: null, fullBecause: 'no earlier backup of tree' });
    const inc = await take(s, 'incremental');
    rmSync(repositoryOf(s.context).dir(first.id), { recursive: true });
    const broken = new RegExp(`needs ${first.id} \\(the parent of ${inc.id}\\), which is not in the repository: the chain is broken`);
    expect((await failure(verifyBackup(s.context, inc.id))).message).toMatch(broken);
    const restore = await failure(restoreBackup(s.context, inc.id, join(s.dir, 'out')));
    expect(restore).toMatchObject({ code: 'NINES_BACKUP_CORRUPT' });
    expect(restore.message).toMatch(broken);

    const db = contextOf({ targets: { db: { type: 'postgres', url: 'postgres://x@127.0.0.1:1/db' } } });
    const error = await failure(createBackup(db, 'db', { type: 'incremental' }));
    expect(error.message).toBe(
      'backup db: incremental backups are for files targets only; db is a postgres target (take a full backup, or use point-in-time recovery for PostgreSQL)',
    );
  }, 60_000);

  it('a backup written before file lists still verifies and restores; an incremental on it is a full one', async () => {
    const s = setup();
    const old = await take(s, 'full');
    // as nines wrote it before file lists: the archive alone, no contents
    const file = join(repositoryOf(s.context).dir(old.id), 'manifest.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    rmSync(join(repositoryOf(s.context).dir(old.id), manifest.artifacts[1]?.path as string));
    manifest.artifacts = manifest.artifacts.slice(0, 1);
    delete manifest.contents;
    writeFileSync(file, JSON.stringify(manifest));
    await verifyBackup(s.context, old.id);
    const out = join(s.dir, 'out');
    await restoreBackup(s.context, old.id, out);
    expect(Object.keys(snapshot(out)).sort()).toEqual(Object.keys(expected(s.src)).sort());
    expect((await failure(compare(s.context, manifest, out))).message).toMatch(/recorded no contents/);
    const next = await take(s, 'incremental');
    expect(next).toMatchObject({ type: 'full', fullBecause: `${old.id} has no file list (written by an older nines)` });
  }, 60_000);

  it('retention with a fake clock keeps exactly the newest backups and their chains, and what it keeps restores', async () => {
    const s = setup();
    // day 1: full 04:00, incrementals 05:00 and 06:00; day 2: full, incremental
    const ids: string[] = [];
    for (const type of ['full', 'incremental', 'incremental'] as const) {
      writeFileSync(join(s.src, `step-${ids.length}`), String(ids.length));
      ids.push((await take(s, type)).id);
    }
    await s.clock.set(T0 + 24 * HOUR);
    for (const type of ['full', 'incremental'] as const) {
      writeFileSync(join(s.src, `step-${ids.length}`), String(ids.length));
      ids.push((await take(s, type)).id);
    }
    const [f1, i11, i12, f2, i21] = ids as [string, string, string, string, string];
    const plan = await pruneRepository(s.context, { last: 1 });
    expect(plan.decisions.filter((d) => d.keep).map((d) => d.backup.id)).toEqual([i21, f2]);
    // the newest of day 1 is an incremental: keeping it keeps its whole chain
    const daily = await pruneRepository(s.context, { daily: 2 }, { confirm: true });
    expect(daily.decisions.filter((d) => d.keep).map((d) => d.backup.id)).toEqual([i21, f2, i12, i11, f1]);
    const last = await pruneRepository(s.context, { last: 2 }, { confirm: true });
    expect(last.decisions.filter((d) => !d.keep).map((d) => d.backup.id)).toEqual([i12, i11, f1]);
    expect((await repositoryOf(s.context).list()).map((m) => m.id)).toEqual([f2, i21]);
    const out = join(s.dir, 'out');
    await restoreBackup(s.context, i21, out);
    expect(snapshot(out)).toEqual(expected(s.src));
  }, 60_000);

  it('hard links: many files with several links each back up and restore as hard links', async () => {
    const s = setup();
    mkdirSync(join(s.src, 'links'));
    for (let i = 0; i < 300; i++) {
      writeFileSync(join(s.src, 'links', `f${i}`), randomBytes(64 + i));
      linkSync(join(s.src, 'links', `f${i}`), join(s.src, 'links', `g${i}`));
      linkSync(join(s.src, 'links', `f${i}`), join(s.src, `h${i}`));
    }
    const full = await take(s, 'full');
    writeFileSync(join(s.src, 'links', 'f7'), 'changed through one of its links');
    const inc = await take(s, 'incremental');
    const out = join(s.dir, 'out');
    await restoreBackup(s.context, inc.id, out);
    expect(snapshot(out)).toEqual(expected(s.src));
    expect(await compare(s.context, inc, out)).toEqual([]);
    expect(statSync(join(out, 'h7')).ino).toBe(statSync(join(out, 'links/f7')).ino);
    expect(readFileSync(join(out, 'links/g7'), 'utf8')).toBe('changed through one of its links');
    expect(full.contents).toMatchObject({ files: { entries: expect.any(Number) } });
  }, 60_000);

  it('a file list naming a path outside the tree is refused (a restore creates what the list names)', async () => {
    const s = setup();
    const fresh = () => mkdtempSync(join(s.dir, 'list-'));
    for (const path of ['../escape', '/etc/passwd', 'a/../../b', 'a//b']) {
      const error = await failure(writeFileList(fresh(), [{ path, type: 'file', mode: 0o644, size: 0, mtime: 0 }], undefined));
      expect([error.code, error.message]).toEqual([
        'NINES_BACKUP_CORRUPT',
        `${FILE_LIST}.gz: ${JSON.stringify(path)} is not a path inside the tree`,
      ]);
    }
    const link = await failure(
      writeFileList(fresh(), [{ path: 'ok', type: 'hardlink', mode: 0o644, size: 0, mtime: 0, link: '../outside' }], undefined),
    );
    expect(link.message).toMatch(/is not a path inside the tree$/);
  });
});
