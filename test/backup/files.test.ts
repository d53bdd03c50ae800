import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup, verifyBackup } from '../../src/backup/backup.js';
import { excluded } from '../../src/backup/files/files-driver.js';
import { contextOf, failure, tempDir } from './helpers.js';
import { makeTree, snapshot } from './tree.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const EXCLUDE = ['*.tmp', 'cache'];

/** The snapshot without what EXCLUDE leaves out. */
function expected(root: string): Record<string, string> {
  return Object.fromEntries(Object.entries(snapshot(root)).filter(([path]) => !/\.tmp$/.test(path) && !/^cache(\/|$)/.test(path)));
}

describe('files target (tar)', () => {
  it('exclude globs: a glob with / matches the relative path, one without matches a base name anywhere', () => {
    expect(excluded('scratch.tmp', ['*.tmp'])).toBe(true);
    expect(excluded('deep/a/old.tmp', ['*.tmp'])).toBe(true);
    expect(excluded('cache', ['cache'])).toBe(true);
    expect(excluded('logs/today.log', ['logs/*.log'])).toBe(true);
    expect(excluded('other/logs/today.log', ['logs/*.log'])).toBe(false);
    expect(excluded('a.txt', ['*.tmp', 'cache'])).toBe(false);
  });

  for (const [compression, encrypted] of [
    ['gzip', false],
    ['zstd', false],
    ['zstd', true],
    ['none', true],
  ] as const) {
    it(`full backup and restore (${compression}${encrypted ? ', encrypted' : ''}) equal the source: hashes, modes, mtimes, symlinks`, async () => {
      const tmp = tempDir('backup-files');
      cleanups.push(tmp.remove);
      const src = join(tmp.dir, 'src');
      makeTree(src);
      const env = { K: randomBytes(32).toString('hex') };
      const context = contextOf(
        {
          repository: join(tmp.dir, 'backups'),
          ...(encrypted ? { encryption: { keyEnv: 'K' } } : {}),
          targets: { tree: { type: 'files', path: src, exclude: EXCLUDE, compression } },
        },
        env,
      );
      const m = await createBackup(context, 'tree');
      expect(m).toMatchObject({ kind: 'files', source: { path: src }, options: { compression } });
      expect(m.tools.tar).toBe('nines (POSIX pax)');
      expect(m.sizes.source).toBeGreaterThan(2 * 1024 * 1024);
      await verifyBackup(context, m.id);
      const out = join(tmp.dir, 'out');
      await restoreBackup(context, m.id, out);
      expect(snapshot(out)).toEqual(expected(src));
      expect(snapshot(out)['a.txt']).toMatch(/ 1580608922$/); // the mtime came back
    }, 60_000);
  }

  it('GNU tar reads the archive: long and UTF-8 names (pax headers), hard links, symlinks, modes', async () => {
    const tmp = tempDir('backup-files');
    cleanups.push(tmp.remove);
    const src = join(tmp.dir, 'src');
    makeTree(src);
    const long = `${'d'.repeat(120)}/${'é'.repeat(60)}`;
    mkdirSync(join(src, long), { recursive: true });
    writeFileSync(join(src, long, `${'f'.repeat(150)}.txt`), 'deep\n');
    linkSync(join(src, 'a.txt'), join(src, 'hard.txt'));
    const context = contextOf({
      repository: join(tmp.dir, 'backups'),
      targets: { tree: { type: 'files', path: src, compression: 'none' } },
    });
    const m = await createBackup(context, 'tree');
    const out = join(tmp.dir, 'gnu');
    mkdirSync(out);
    const tar = spawnSync('tar', ['-xf', join(tmp.dir, 'backups', m.id, 'files.tar'), '-C', out], { encoding: 'utf8' });
    expect(tar.stderr).toBe('');
    expect(snapshot(out)).toEqual(snapshot(src));
    expect(statSync(join(out, 'hard.txt')).ino).toBe(statSync(join(out, 'a.txt')).ino);
  });

  it('leaves out the repository when it lies inside the tree', async () => {
    const tmp = tempDir('backup-files');
    cleanups.push(tmp.remove);
    writeFileSync(join(tmp.dir, 'config.yaml'), 'x: 1\n');
    const context = contextOf({ repository: join(tmp.dir, 'data/backups'), targets: { self: { type: 'files', path: tmp.dir } } });
    await createBackup(context, 'self');
    const second = await createBackup(context, 'self');
    const out = join(tmp.dir, '..', `${tmp.dir.split('/').pop()}-out`);
    cleanups.push(() => rmSync(out, { recursive: true, force: true }));
    await restoreBackup(context, second.id, out);
    expect(readdirSync(out).sort()).toEqual(['config.yaml', 'data']);
    expect(readdirSync(join(out, 'data'))).toEqual([]);
  });

  it('refuses a non-empty directory without --force; a flipped byte fails verify and names the archive', async () => {
    const tmp = tempDir('backup-files');
    cleanups.push(tmp.remove);
    const src = join(tmp.dir, 'src');
    makeTree(src);
    const context = contextOf({ repository: join(tmp.dir, 'backups'), targets: { tree: { type: 'files', path: src } } });
    const m = await createBackup(context, 'tree');
    const error = await failure(restoreBackup(context, m.id, src));
    expect(error.code).toBe('NINES_RESTORE_REFUSED');
    expect(error.message).toMatch(/is not empty.*--force/);
    const url = await failure(restoreBackup(context, m.id, 'postgres://postgres@127.0.0.1/x'));
    expect(url.message).toBe(`--to: backup ${m.id} is of a directory: expected a path`);

    const archive = join(tmp.dir, 'backups', m.id, 'files.tar.gz');
    const bytes = readFileSync(archive);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0x10;
    writeFileSync(archive, bytes);
    const corrupt = await failure(verifyBackup(context, m.id));
    expect(corrupt).toMatchObject({ code: 'NINES_BACKUP_CORRUPT', file: 'files.tar.gz' });
    expect((await failure(restoreBackup(context, m.id, join(tmp.dir, 'new')))).file).toBe('files.tar.gz');
  });
});
