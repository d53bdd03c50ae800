import { randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, repositoryOf, restoreBackup, verifyBackup } from '../../src/backup/backup.js';
import type { BackupError } from '../../src/backup/errors.js';
import type { Manifest } from '../../src/backup/manifest.js';
import { hasPostgres, uniqueName } from '../support/services.js';
import { contentHashes, contextOf, databaseUrl, dropDatabase, failure, fill, scratchDatabase, sql, tempDir } from './helpers.js';

const KEY = randomBytes(32).toString('hex');
const OTHER_KEY = randomBytes(32).toString('base64');

/** Flips one byte in the middle of a file. */
function flipByte(path: string, at = 0.5): void {
  const bytes = readFileSync(path);
  const i = Math.floor(bytes.length * at);
  bytes[i] = (bytes[i] ?? 0) ^ 0xff;
  writeFileSync(path, bytes);
}

describe.runIf(await hasPostgres())('PostgreSQL backups (real pg_dump / pg_restore)', () => {
  let source: Awaited<ReturnType<typeof scratchDatabase>>;
  let original: Record<string, string>;
  const repo = tempDir('backup-pg');
  const created: string[] = [];
  /** A database name for a restore, dropped after the suite. */
  const restoreTarget = () => {
    const name = uniqueName('nines_bk_restore').toLowerCase();
    created.push(name);
    return databaseUrl(name);
  };
  const section = (targets: Record<string, unknown>, encrypted = false) => ({
    repository: repo.dir,
    ...(encrypted ? { encryption: { keyEnv: 'TEST_BACKUP_KEY' } } : {}),
    targets,
  });

  beforeAll(async () => {
    source = await scratchDatabase('nines_bk_src');
    await fill(source.url);
    original = await contentHashes(source.url);
  }, 120_000);

  afterAll(async () => {
    await source?.drop();
    for (const name of created) await dropDatabase(name);
    repo.remove();
  });

  it('custom format: backup, change the source, restore into a new database: every table equals the original', async () => {
    const context = contextOf(section({ main: { type: 'postgres', url: source.url } }));
    const m = await createBackup(context, 'main');
    expect(m).toMatchObject({ target: 'main', kind: 'postgres', type: 'full', parent: null, encryption: null });
    expect(m.source).toMatchObject({ database: source.name, serverVersion: expect.stringMatching(/^\d+/) });
    expect(m.tools.pg_dump).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
    expect(m.artifacts).toEqual([{ path: 'dump.pgdump', bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(m.sizes.source).toBeGreaterThan(m.sizes.stored); // pg_database_size vs the compressed dump
    expect((await repositoryOf(context).list('main')).map((b) => b.id)).toContain(m.id);

    await sql(
      source.url,
      "update customers set name = 'changed' where id <= 100; delete from orders where id > 39000; drop view big_orders",
    );
    try {
      expect(await contentHashes(source.url).catch(() => undefined)).not.toEqual(original);
      const to = restoreTarget();
      await restoreBackup(context, m.id, to);
      expect(await contentHashes(to)).toEqual(original);
      // --force restores over a non-empty database (pg_restore --clean)
      await sql(to, "update customers set name = 'drift'");
      await restoreBackup(context, m.id, to, true);
      expect(await contentHashes(to)).toEqual(original);
    } finally {
      // put the source back for the other tests
      await dropDatabase(source.name);
      source = await scratchDatabase('nines_bk_src');
      await fill(source.url);
    }
  }, 120_000);

  it('refuses to restore into a non-empty database without --force, and leaves it untouched', async () => {
    const context = contextOf(section({ main: { type: 'postgres', url: source.url } }));
    const m = await createBackup(context, 'main');
    const error = await failure(restoreBackup(context, m.id, source.url));
    expect(error.code).toBe('NINES_RESTORE_REFUSED');
    expect(error.message).toMatch(/is not empty .*--force/);
    const path = await failure(restoreBackup(context, m.id, './restored'));
    expect(path.message).toBe(`--to: backup ${m.id} is of a PostgreSQL database: expected postgres://user@host:5432/db`);
    expect(await contentHashes(source.url)).toEqual(original);
  }, 120_000);

  it('directory format with parallel jobs (pg_dump -Fd -j 3) restores the same contents', async () => {
    const context = contextOf(section({ par: { type: 'postgres', url: source.url, format: 'directory', jobs: 3 } }));
    const m = await createBackup(context, 'par');
    expect(m.options).toMatchObject({ format: 'directory', jobs: 3 });
    expect(m.artifacts.map((a) => a.path)).toContain('dump/toc.dat');
    expect(m.artifacts.length).toBeGreaterThan(3); // one file per table's data
    await verifyBackup(context, m.id);
    const to = restoreTarget();
    await restoreBackup(context, m.id, to);
    expect(await contentHashes(to)).toEqual(original);
  }, 120_000);

  it('encrypted, custom and directory format: the artifacts hold no plaintext, and restore gives the same contents', async () => {
    const env = { TEST_BACKUP_KEY: KEY };
    for (const target of [
      { type: 'postgres', url: source.url },
      { type: 'postgres', url: source.url, format: 'directory', jobs: 2 },
    ]) {
      const context = contextOf(section({ enc: target }, true), env);
      const m = await createBackup(context, 'enc');
      expect(m.encryption).toEqual({ algorithm: 'aes-256-gcm-chunked-v1', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
      expect(JSON.stringify(m)).not.toContain(KEY);
      for (const a of m.artifacts) {
        expect(a.path).toMatch(/\.enc$/);
        expect(a.plainSha256).toMatch(/^[0-9a-f]{64}$/);
        // every pg_dump archive (and toc.dat) starts with PGDMP: encrypted, no trace of it
        expect(readFileSync(join(repo.dir, m.id, a.path)).includes('PGDMP')).toBe(false);
      }
      await verifyBackup(context, m.id);
      const to = restoreTarget();
      await restoreBackup(context, m.id, to);
      expect(await contentHashes(to)).toEqual(original);
    }
  }, 180_000);

  it('a wrong key or none: a clear error, for verify and restore alike', async () => {
    const m = await createBackup(contextOf(section({ enc: { type: 'postgres', url: source.url } }, true), { TEST_BACKUP_KEY: KEY }), 'enc');
    const wrong = contextOf(section({}, true), { TEST_BACKUP_KEY: OTHER_KEY });
    for (const attempt of [() => verifyBackup(wrong, m.id), () => restoreBackup(wrong, m.id, restoreTarget())]) {
      const error = await failure(attempt());
      expect(error.code).toBe('NINES_BACKUP_KEY');
      expect(error.message).toContain(`encrypted with key ${m.encryption?.keyId}`);
      expect(error.message).toContain('wrong key');
      expect(error.message).not.toContain(OTHER_KEY);
    }
    const none = await failure(verifyBackup(contextOf(section({})), m.id));
    expect(none.message).toMatch(/no key is configured/);
  }, 120_000);

  /** A backup whose stored artifact is then damaged by `damage`; returns verify's error. */
  async function damaged(target: Record<string, unknown>, damage: (file: string) => void): Promise<{ error: BackupError; m: Manifest }> {
    const context = contextOf(section({ d: target }));
    const m = await createBackup(context, 'd');
    const artifact = m.artifacts.find((a) => a.path !== 'dump/toc.dat') ?? m.artifacts[0];
    damage(join(repo.dir, m.id, artifact?.path ?? ''));
    return { error: await failure(verifyBackup(context, m.id)), m };
  }

  it('one flipped byte, in a compressed or an uncompressed (-Z0) dump: verify fails and names the file', async () => {
    for (const target of [
      { type: 'postgres', url: source.url },
      { type: 'postgres', url: source.url, compressLevel: 0 },
      { type: 'postgres', url: source.url, format: 'directory', compressLevel: 0 },
    ]) {
      const { error, m } = await damaged(target, (file) => flipByte(file));
      expect(error.code).toBe('NINES_BACKUP_CORRUPT');
      expect(error.file).toBe(m.artifacts.find((a) => a.path !== 'dump/toc.dat')?.path);
      expect(error.message).toContain(`${error.file}: SHA-256`);
    }
  }, 180_000);

  it('a truncated dump, which pg_restore --list accepts: verify fails and names the file', async () => {
    const { error } = await damaged({ type: 'postgres', url: source.url }, (file) =>
      truncateSync(file, Math.floor(readFileSync(file).length / 2)),
    );
    expect(error.code).toBe('NINES_BACKUP_CORRUPT');
    expect(error.file).toBe('dump.pgdump');
    expect(error.message).toMatch(/dump\.pgdump: \d+ bytes, the manifest says \d+ \(truncated\?\)/);
  }, 120_000);

  it('an unreachable database fails the create and leaves nothing in the repository', async () => {
    const context = contextOf(section({ gone: { type: 'postgres', url: databaseUrl(uniqueName('nines_bk_missing').toLowerCase()) } }));
    const before = await repositoryOf(context).list();
    const error = await failure(createBackup(context, 'gone'));
    expect(error.code).toBe('NINES_BACKUP_FAILED');
    expect(await repositoryOf(context).list()).toEqual(before);
    // a password in the URL never shows in the message
    const closed = contextOf(section({ closed: { type: 'postgres', url: 'postgres://backup:s3cret-pw@127.0.0.1:1/app' } }));
    const refused = await failure(createBackup(closed, 'closed'));
    expect(refused.message).toMatch(/^cannot connect to postgres:\/\/backup:\*\*\*@127\.0\.0\.1:1\/app: /);
    expect(refused.message).not.toContain('s3cret-pw');
  });
});
