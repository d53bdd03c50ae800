/** Restore drills: the newest backup restored into a scratch copy, compared with what its manifest recorded, and the copy dropped. */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupContext, createBackup } from '../../src/backup/backup.js';
import { drillBackup, lastDrill } from '../../src/backup/drill.js';
import type { Manifest } from '../../src/backup/manifest.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import { bin } from '../support/e2e.js';
import { hasPostgres, pgUrl } from '../support/services.js';
import { contextOf, failure, fill, scratchDatabase, sql, tempDir } from './helpers.js';

const KEY = randomBytes(32).toString('hex');

/** A clock one second further on at every reading: the drill's times are then exact. */
function steppingClock(): Clock {
  let t = Date.UTC(2026, 11, 7, 6);
  return { now: () => (t += 1000), setTimeout: systemClock.setTimeout };
}

/** This file's target: its name is in the scratch databases' names, so other drills on the shared server (another test run, a bench) are not counted. */
const T = `main${randomBytes(3).toString('hex')}`;

/** The drill's scratch databases of this file's target still on the server. */
async function scratchDatabases(): Promise<string[]> {
  const rows = await sql<{ datname: string }>(pgUrl, `select datname from pg_database where datname like 'nines\\_drill\\_${T}\\_%'`);
  return rows.map((r) => r.datname);
}

/** The drill's scratch folders still in the temp directory (this file's own: other test files drill too, at the same time). */
const scratchDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('nines-drill-'));
const ownTmp = mkdtempSync(join(tmpdir(), 'nines-drill-test-'));
const outerTmp = process.env.TMPDIR;
beforeAll(() => {
  process.env.TMPDIR = ownTmp;
});
afterAll(() => {
  if (outerTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = outerTmp;
  rmSync(ownTmp, { recursive: true, force: true });
});

/** Rewrites the recorded row count of `table` in backup `m`'s manifest (the manifest has no checksum of its own). */
function tamper(repository: string, m: Manifest, table: string, rows: number): void {
  const file = join(repository, m.id, 'manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  (manifest.contents as { tables: Record<string, number> }).tables[table] = rows;
  writeFileSync(file, JSON.stringify(manifest));
}

/** The built CLI (vitest's global setup builds it). */
function nines(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
}

describe.runIf(await hasPostgres())('PostgreSQL drills (real pg_dump / pg_restore)', () => {
  let source: Awaited<ReturnType<typeof scratchDatabase>>;
  const tmp = tempDir('drill-pg');
  const repo = join(tmp.dir, 'backups');
  const section = (extra: Record<string, unknown> = {}, encrypted = false) => ({
    repository: repo,
    ...(encrypted ? { encryption: { keyEnv: 'TEST_BACKUP_KEY' } } : {}),
    targets: { [T]: { type: 'postgres', url: source.url, ...extra } },
  });
  const drillContext = (context: BackupContext): BackupContext => ({ ...context, clock: steppingClock() });

  beforeAll(async () => {
    source = await scratchDatabase('nines_drsrc');
    await fill(source.url);
    await sql(
      source.url,
      `create schema billing;
       create table billing.events (id int, at date not null) partition by range (at);
       create table billing.events_2026 partition of billing.events for values from ('2026-01-01') to ('2027-01-01');
       create table billing.events_2027 partition of billing.events for values from ('2027-01-01') to ('2028-01-01');
       insert into billing.events select g, date '2026-06-01' + (g % 400) from generate_series(1, 3000) g;`,
    );
  }, 120_000);

  afterAll(async () => {
    await source?.drop();
    tmp.remove();
  });

  it('records exact rows per table (leaf partitions, not their parent), and a drill agrees, reports its times and drops the scratch database', async () => {
    const context = contextOf(section());
    const m = await createBackup(context, T);
    expect(m.contents).toEqual({
      tables: {
        'billing.events_2026': 1698,
        'billing.events_2027': 1302,
        'public.blobs': 1000,
        'public.customers': 20000,
        'public.orders': 40000,
      },
    });
    const report = await drillBackup(drillContext(context), T);
    expect(report).toMatchObject({ target: T, backupId: m.id, differences: [], ok: true });
    expect(report.error).toBeUndefined();
    // the stepping clock: one second for the restore, one for the compare
    expect(report).toMatchObject({ restoreSeconds: 1, compareSeconds: 1, recoverySeconds: 2 });
    expect(await scratchDatabases()).toEqual([]);
    expect(await lastDrill(context, T)).toEqual(report);
  }, 120_000);

  it('counts in the snapshot pg_dump dumps: rows written during the backup do not make the drill disagree (directory format, 2 jobs)', async () => {
    const context = contextOf(section({ format: 'directory', jobs: 2 }));
    const { default: pg } = await import('pg');
    const writer = new pg.Client({ connectionString: source.url });
    await writer.connect();
    let writing = true;
    let written = 0;
    const writes = (async () => {
      while (writing) {
        await writer.query(`insert into orders (id, customer, total) select max(id) + 1, 1, 1 from orders`);
        await writer.query(`insert into customers (id, name, created) select max(id) + 1, 'late', now() from customers`);
        written++;
      }
    })();
    try {
      // the backup starts after the first writes, and they go on till it ends
      while (written < 5) await new Promise((r) => setTimeout(r, 10));
      const before = written;
      const m = await createBackup(context, T);
      const during = written;
      expect(during).toBeGreaterThan(before); // rows were written while pg_dump ran
      while (written < during + 5) await new Promise((r) => setTimeout(r, 10));
      writing = false;
      await writes;
      const report = await drillBackup(drillContext(context), T);
      expect(report).toMatchObject({ backupId: m.id, differences: [], ok: true });
      const [now] = await sql<{ n: string }>(source.url, 'select count(*)::text as n from orders');
      expect(Number(now?.n)).toBeGreaterThan((m.contents as { tables: Record<string, number> }).tables['public.orders'] ?? 0);
    } finally {
      writing = false;
      await writes;
      await writer.end();
    }
    expect(await scratchDatabases()).toEqual([]);
  }, 180_000);

  it('a manifest that recorded other counts: the drill names each difference, keeps the failed report, and drops the copy', async () => {
    const context = contextOf(section());
    const m = await createBackup(context, T);
    const orders = (m.contents as { tables: Record<string, number> }).tables['public.orders'] ?? 0;
    tamper(repo, m, 'public.orders', orders - 1);
    const report = await drillBackup(drillContext(context), T);
    expect(report.ok).toBe(false);
    expect(report.differences).toEqual([`public.orders: ${orders} rows, the backup recorded ${orders - 1}`]);
    expect((await lastDrill(context, T))?.ok).toBe(false);
    expect((await lastDrill(context, T, true))?.ok).toBe(true); // the last success stays known
    expect(await scratchDatabases()).toEqual([]);
  }, 120_000);

  it('an encrypted backup: the drill decrypts it and agrees', async () => {
    const context = contextOf(section({}, true), { TEST_BACKUP_KEY: KEY });
    const m = await createBackup(context, T);
    expect(m.encryption).not.toBeNull();
    expect(await drillBackup(drillContext(context), T)).toMatchObject({ backupId: m.id, ok: true });
    // without the key: a clear error, the failure kept, no scratch database left
    const error = await failure(drillBackup(contextOf(section({}, true), {}), T));
    expect(error).toMatchObject({ code: 'NINES_BACKUP_KEY', configPath: 'backup.encryption.keyEnv' });
    expect(await lastDrill(context, T)).toMatchObject({
      ok: false,
      backupId: m.id,
      error: 'backup.encryption.keyEnv: environment variable TEST_BACKUP_KEY is not set',
    });
    expect(await scratchDatabases()).toEqual([]);
  }, 120_000);

  it('a user without CREATEDB: a clear error naming it, and nothing left', async () => {
    const user = `nines_druser_${randomBytes(3).toString('hex')}`;
    await sql(pgUrl, `create role ${user} login nocreatedb; grant all on database "${source.name}" to ${user}`);
    try {
      const url = new URL(source.url);
      url.username = user;
      const context = contextOf({ repository: repo, targets: { [T]: { type: 'postgres', url: url.toString() } } });
      const error = await failure(drillBackup(context, T));
      expect(error.message).toMatch(
        new RegExp(`^drill of ${T}: cannot create the scratch database nines_drill_${T}_[0-9a-f]{8} on .*CREATEDB`),
      );
      expect(await scratchDatabases()).toEqual([]);
    } finally {
      await sql(pgUrl, `drop owned by ${user}; drop role ${user}`);
    }
  }, 60_000);

  it('the CLI: exit 0 and the times when equal, --json the report, exit 1 with the differences when not', async () => {
    const cwd = join(tmp.dir, 'cli');
    mkdirSync(cwd);
    writeFileSync(
      join(cwd, 'nines.yaml'),
      `components:\n  - { name: db, check: { type: tcp, host: 127.0.0.1, port: 5432 } }\nbackup:\n  repository: ${repo}\n  targets:\n    ${T}: { type: postgres, url: "${source.url}" }\n`,
    );
    const m = await createBackup(contextOf(section()), T);
    const human = nines(cwd, ['backup', 'drill', '-t', T]);
    expect(human.stdout).toMatch(
      new RegExp(
        `^drill of ${T} from backup ${m.id}: the restore agrees with the backup; restore [\\d.]+ s \\+ compare [\\d.]+ s = recovery [\\d.]+ s; scratch copy dropped\\n$`,
      ),
    );
    expect(human.status).toBe(0);
    const json = nines(cwd, ['backup', 'drill', '-t', T, '--json']);
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ target: T, backupId: m.id, ok: true, differences: [] });
    expect(report.recoverySeconds).toBeCloseTo(report.restoreSeconds + report.compareSeconds, 9);
    expect(report.restoreSeconds).toBeGreaterThanOrEqual(0);
    expect(report.compareSeconds).toBeGreaterThanOrEqual(0);
    tamper(repo, m, 'public.customers', 1);
    const bad = nines(cwd, ['backup', 'drill', '-t', T]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain(`drill of ${T} from backup ${m.id}: 1 differences;`);
    expect(bad.stdout).toContain('  public.customers: 20');
    const unknown = nines(cwd, ['backup', 'drill', '-t', 'nope']);
    expect(unknown).toMatchObject({ status: 2, stderr: `drill nope: backup.targets: no target "nope"; configured: ${T}\n` });
    expect(await scratchDatabases()).toEqual([]);
  }, 180_000);
});

describe('SQLite and files drills', () => {
  it('SQLite: counts the copy it made, and a drill of the newest backup agrees; a tampered one differs; no scratch file is left', async () => {
    const tmp = tempDir('drill-sqlite');
    try {
      const file = join(tmp.dir, 'store.db');
      const db = new Database(file);
      db.exec('create table a (id integer primary key, v text); create table "b c" (x)');
      const insert = db.prepare('insert into a (v) values (?)');
      db.transaction(() => {
        for (let i = 0; i < 500; i++) insert.run(`v${i}`);
      })();
      db.prepare('insert into "b c" values (1)').run();
      db.close();
      const context = contextOf({ repository: join(tmp.dir, 'backups'), targets: { store: { type: 'sqlite', path: file } } });
      const m = await createBackup(context, 'store');
      expect(m.contents).toEqual({ tables: { a: 500, 'b c': 1 } });
      const before = scratchDirs();
      const report = await drillBackup({ ...context, clock: steppingClock() }, 'store');
      expect(report).toMatchObject({ backupId: m.id, ok: true, differences: [], restoreSeconds: 1, compareSeconds: 1, recoverySeconds: 2 });
      tamper(join(tmp.dir, 'backups'), m, 'gone', 3);
      const bad = await drillBackup(context, 'store');
      expect(bad.differences).toEqual(['gone: missing from the restore, the backup recorded 3 rows']);
      expect(scratchDirs()).toEqual(before);
    } finally {
      tmp.remove();
    }
  });

  it('files: a drill of an incremental chain restores the tree and agrees with its file list; no scratch directory is left', async () => {
    const tmp = tempDir('drill-files');
    try {
      const tree = join(tmp.dir, 'tree');
      mkdirSync(join(tree, 'sub'), { recursive: true });
      writeFileSync(join(tree, 'a.txt'), 'hello');
      writeFileSync(join(tree, 'sub', 'b.bin'), randomBytes(100_000));
      const context = contextOf({ repository: join(tmp.dir, 'backups'), targets: { etc: { type: 'files', path: tree } } });
      const none = await failure(drillBackup(context, 'etc'));
      expect(none).toMatchObject({ code: 'NINES_BACKUP_NOT_FOUND' });
      expect(none.message).toMatch(/^no backup of etc in .* to drill: take one first$/);
      const full = await createBackup(context, 'etc');
      writeFileSync(join(tree, 'a.txt'), 'hello again');
      writeFileSync(join(tree, 'c.txt'), 'new');
      const incremental = await createBackup(context, 'etc', { type: 'incremental' });
      expect(incremental).toMatchObject({ type: 'incremental', parent: full.id });
      const before = scratchDirs();
      const report = await drillBackup({ ...context, clock: steppingClock() }, 'etc');
      expect(report).toMatchObject({ backupId: incremental.id, ok: true, differences: [], recoverySeconds: 2 });
      expect(scratchDirs()).toEqual(before);
      expect(await lastDrill(context, 'etc', true)).toEqual(report);
    } finally {
      tmp.remove();
    }
  });
});
