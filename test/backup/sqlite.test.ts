import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup, verifyBackup } from '../../src/backup/backup.js';
import { until } from '../support/e2e.js';
import { contextOf, failure, tempDir } from './helpers.js';

/**
 * A writer in its own process (so its connection is another process's, as the monitor's is): each
 * transaction inserts a row and bumps a counter. It yields between batches so it can be killed.
 */
const WRITER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
const insert = db.prepare('insert into events (payload) values (randomblob(1024))');
const bump = db.prepare('update counter set n = n + 1');
const step = db.transaction(() => { insert.run(); bump.run(); });
(function loop() { for (let i = 0; i < 20; i++) step(); setImmediate(loop); })();
`;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function seed(file: string, rows: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('create table events (id integer primary key, payload blob not null); create table counter (n integer not null)');
  db.prepare('insert into counter (n) values (?)').run(rows);
  const insert = db.prepare('insert into events (payload) values (randomblob(1024))');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run();
  })();
  db.close();
}

/** The writer's committed count, read on a connection of this process. */
function counter(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('select n from counter').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function startWriter(file: string): { proc: ChildProcess; errors: () => string } {
  const proc = spawn(process.execPath, ['-e', WRITER, require_('better-sqlite3'), file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  cleanups.push(() => proc.kill('SIGKILL'));
  return { proc, errors: () => errors };
}

function require_(name: string): string {
  return import.meta
    .resolve(name)
    .replace(/^file:\/\//, '')
    .replace(/\/lib\/index\.js$/, '');
}

describe('SQLite target (online backup API)', () => {
  it('backs up a database while another process writes to it: one consistent snapshot, the writer never stopped', async () => {
    const tmp = tempDir('backup-sqlite');
    cleanups.push(tmp.remove);
    const file = join(tmp.dir, 'nines.db');
    const seeded = 20_000; // ~20 MB
    seed(file, seeded);
    const writer = startWriter(file);
    await until('the writer to commit', async () => (counter(file) > seeded + 100 ? true : undefined));
    const context = contextOf({ repository: join(tmp.dir, 'backups'), targets: { store: { type: 'sqlite', path: file } } });
    const m = await createBackup(context, 'store');
    const atEnd = counter(file);
    // still writing after the backup, and it never saw an error (a blocked writer would get SQLITE_BUSY past its timeout)
    await until('the writer to go on', async () => (counter(file) > atEnd + 100 ? true : undefined));
    expect(writer.proc.exitCode).toBeNull();
    expect(writer.errors()).toBe('');
    expect(m).toMatchObject({ kind: 'sqlite', source: { path: file }, options: { compression: 'gzip' } });
    expect(m.tools.sqlite).toMatch(/^3\.\d+/);
    expect(m.artifacts.map((a) => a.path)).toEqual(['database.sqlite.gz']);
    writer.proc.kill('SIGKILL');
    const final = counter(file);

    const restored = join(tmp.dir, 'restored', 'copy.db');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(tmp.dir, 'restored')));
    await restoreBackup(context, m.id, restored);
    const copy = new Database(restored, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const events = (copy.prepare('select count(*) as n from events').get() as { n: number }).n;
      const counter = (copy.prepare('select n from counter').get() as { n: number }).n;
      expect(events).toBe(counter); // no torn transaction: the row and its count together
      expect(events).toBeGreaterThan(seeded);
      expect(events).toBeLessThanOrEqual(final);
    } finally {
      copy.close();
    }
  }, 120_000);

  it('encrypted with zstd: verify decrypts and runs the integrity check; a restore over a file needs --force and drops its stale -wal', async () => {
    const tmp = tempDir('backup-sqlite');
    cleanups.push(tmp.remove);
    const file = join(tmp.dir, 'small.db');
    seed(file, 100);
    const env = { K: randomBytes(32).toString('hex') };
    const context = contextOf(
      {
        repository: join(tmp.dir, 'backups'),
        encryption: { keyEnv: 'K' },
        targets: { s: { type: 'sqlite', path: file, compression: 'zstd' } },
      },
      env,
    );
    const m = await createBackup(context, 's');
    expect(m.artifacts[0]?.path).toBe('database.sqlite.zst.enc');
    await verifyBackup(context, m.id);

    const target = join(tmp.dir, 'target.db');
    writeFileSync(target, 'not empty');
    writeFileSync(`${target}-wal`, randomBytes(4096));
    expect((await failure(restoreBackup(context, m.id, target))).code).toBe('NINES_RESTORE_REFUSED');
    expect(readFileSync(target, 'utf8')).toBe('not empty');
    await restoreBackup(context, m.id, target, true);
    const copy = new Database(target, { readonly: true });
    expect((copy.prepare('select n from counter').get() as { n: number }).n).toBe(100);
    copy.close();

    // a damaged copy: the checksum names it before any decryption
    const stored = join(tmp.dir, 'backups', m.id, 'database.sqlite.zst.enc');
    const bytes = readFileSync(stored);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 1;
    writeFileSync(stored, bytes);
    const error = await failure(verifyBackup(context, m.id));
    expect(error).toMatchObject({ code: 'NINES_BACKUP_CORRUPT', file: 'database.sqlite.zst.enc' });
  });
});
