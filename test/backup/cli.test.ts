import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/backup/manifest.js';
import { bin, ensureBuilt, exitOf, root, until } from '../support/e2e.js';
import { hasPostgres } from '../support/services.js';
import { scratchDatabase, sql, tempDir } from './helpers.js';

/** The built CLI in `cwd`, with only PATH and `env` in its environment. */
function nines(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
}

/** Builds dist/ unless it has the backup command (a dist/ from before it would fail every test here for the wrong reason). */
function built(): void {
  if (existsSync(join(root, 'dist/cli/backup.js'))) return;
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  ensureBuilt();
}

const COMPONENT = 'components:\n  - name: db\n    check: { type: tcp, host: 127.0.0.1, port: 5432 }\n';

describe('nines backup (built CLI)', () => {
  beforeAll(() => built(), 120_000);

  it('validate accepts backup: and lists every problem in it as path: message, exit 2', () => {
    const tmp = tempDir('backup-cli');
    try {
      const good = `${COMPONENT}backup:
  repository: ./b
  encryption: { keyFile: ./backup.key }
  targets:
    main: { type: postgres, url: "postgres://u@db:5432/app", format: directory, jobs: 4, compressLevel: 3 }
    store: { type: sqlite, path: ./data/nines.db, compression: zstd }
    etc: { type: files, path: ./etc, exclude: ["*.tmp", "cache/**"] }
`;
      writeFileSync(join(tmp.dir, 'good.yaml'), good);
      expect(nines(tmp.dir, ['validate', '-c', 'good.yaml'])).toMatchObject({ status: 0, stderr: '' });
      const bad = `${COMPONENT}backup:
  repository: ""
  encryption: { keyEnv: "1-not-a-name" }
  targets:
    Main: { type: postgres, url: "postgres://u@db/app" }
    a: { type: postgres, url: "mysql://u@db/app" }
    b: { type: postgres, url: "postgres://u@db/app", jobs: 4 }
    c: { type: tape }
    d: { type: files, path: ./x, compression: lz4 }
`;
      writeFileSync(join(tmp.dir, 'bad.yaml'), bad);
      const r = nines(tmp.dir, ['validate', '-c', 'bad.yaml']);
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split('\n');
      for (const start of [
        'backup.repository: must not be empty',
        'backup.encryption.keyEnv: expected an environment variable name',
        'backup.targets.Main: name must be lower case letters',
        'backup.targets.a.url: expected postgres://user@host:5432/db',
        'backup.targets.b.jobs: parallel jobs need format: directory',
        'backup.targets.c.type: expected postgres, sqlite or files',
        'backup.targets.d.compression: expected one of gzip, zstd, none',
      ])
        expect(
          lines.some((l) => l.startsWith(start)),
          `${start}\n${r.stderr}`,
        ).toBe(true);
      expect(lines).toHaveLength(7);
      writeFileSync(join(tmp.dir, 'both.yaml'), `${COMPONENT}backup:\n  encryption: { keyEnv: K, keyFile: ./k }\n`);
      expect(nines(tmp.dir, ['validate', '-c', 'both.yaml']).stderr).toBe(
        'backup.encryption: expected one of keyEnv or keyFile: where the 32-byte key (64 hex digits or base64) is\n',
      );
    } finally {
      tmp.remove();
    }
  });

  it('an unset key variable and an unknown target: one clear line each, exit 2', () => {
    const tmp = tempDir('backup-cli');
    try {
      writeFileSync(
        join(tmp.dir, 'nines.yaml'),
        `${COMPONENT}backup:\n  encryption: { keyEnv: NINES_BACKUP_KEY }\n  targets:\n    etc: { type: files, path: . }\n`,
      );
      expect(nines(tmp.dir, ['backup', 'create', '-t', 'etc'])).toMatchObject({
        status: 2,
        stderr: 'backup.encryption.keyEnv: environment variable NINES_BACKUP_KEY is not set\n',
      });
      const key = randomBytes(32).toString('hex');
      const r = nines(tmp.dir, ['backup', 'create', '-t', 'nope'], { NINES_BACKUP_KEY: key });
      expect(r).toMatchObject({ status: 2, stderr: 'backup nope: backup.targets: no target "nope"; configured: etc\n' });
      const listed = nines(tmp.dir, ['backup', 'list'], { NINES_BACKUP_KEY: key });
      expect(listed).toMatchObject({ status: 0, stdout: 'no backups in ./data/backups\n' });
      const created = nines(tmp.dir, ['backup', 'create', '-t', 'etc'], { NINES_BACKUP_KEY: key });
      expect(created.stdout).toMatch(
        /^backup etc-\d{8}T\d{6}Z-[0-9a-f]{6} complete and verified: 2 artifacts, .* encrypted with key [0-9a-f]{16}\n$/,
      );
      expect(created.stdout).not.toContain(key);
      const parent = created.stdout.split(' ')[1];
      const incremental = nines(tmp.dir, ['backup', 'create', '-t', 'etc', '--type', 'incremental'], { NINES_BACKUP_KEY: key });
      expect(incremental).toMatchObject({ status: 0, stderr: '' });
      expect(incremental.stdout).toMatch(
        new RegExp(
          `^backup etc-\\d{8}T\\d{6}Z-[0-9a-f]{6} \\(incremental on ${parent}: \\d+ changed files packed\\) complete and verified`,
        ),
      );
      expect(nines(tmp.dir, ['backup', 'create', '-t', 'etc', '--type', 'differential'], { NINES_BACKUP_KEY: key })).toMatchObject({
        status: 2,
        stderr: '--type: expected full or incremental, got "differential"\n',
      });
    } finally {
      tmp.remove();
    }
  });
});

describe.runIf(await hasPostgres())('nines backup on PostgreSQL (built CLI)', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  const tmp = tempDir('backup-cli-pg');
  const repo = join(tmp.dir, 'backups');

  beforeAll(async () => {
    built();
    db = await scratchDatabase('nines_bk_cli');
    await sql(
      db.url,
      "create table customers (id int primary key, name text); insert into customers select g, 'c' || g from generate_series(1, 5000) g",
    );
    writeFileSync(
      join(tmp.dir, 'nines.yaml'),
      `${COMPONENT}backup:\n  repository: ./backups\n  targets:\n    db: { type: postgres, url: "${db.url}" }\n`,
    );
  }, 120_000);

  afterAll(async () => {
    await sql(
      db.url,
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'pg_dump' and datname = current_database()",
    ).catch(() => undefined);
    await db?.drop();
    tmp.remove();
  });

  const list = () => JSON.parse(nines(tmp.dir, ['backup', 'list', '--json']).stdout) as Manifest[];

  it('kill -9 of create mid-dump: no complete-looking backup; the next create succeeds and removes the leftover', async () => {
    // a lock held here makes pg_dump wait inside its dump, so the kill lands mid-dump on any machine
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table customers in access exclusive mode');
      const proc = spawn(process.execPath, [bin, 'backup', 'create', '-t', 'db'], { cwd: tmp.dir, stdio: 'ignore' });
      await until(
        'pg_dump to wait on the lock with the pending folder there',
        async () => {
          const pending = existsSync(repo) && readdirSync(repo).some((n) => n.startsWith('.tmp-db-'));
          const [waiting] = await sql<{ n: number }>(
            db.url,
            "select count(*)::int as n from pg_stat_activity where application_name = 'pg_dump' and datname = current_database() and wait_event_type = 'Lock'",
          );
          return pending && (waiting?.n ?? 0) > 0 ? true : undefined;
        },
        60_000,
      );
      proc.kill('SIGKILL');
      expect(await exitOf(proc)).toBeNull();
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    const leftover = readdirSync(repo).filter((n) => n.startsWith('.tmp-'));
    expect(leftover).toHaveLength(1);
    expect(list()).toEqual([]);
    expect(nines(tmp.dir, ['backup', 'list']).stdout).toBe('no backups in ./backups\n');

    const next = nines(tmp.dir, ['backup', 'create', '-t', 'db']);
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).toBe(`removed ${leftover[0]}: left by a create that did not finish\n`);
    expect(readdirSync(repo).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    const backups = list();
    expect(backups).toHaveLength(1);
    expect(nines(tmp.dir, ['backup', 'list', '--target', 'db']).stdout).toContain(backups[0]?.id);
  }, 120_000);

  it('verify names the damaged file (exit 1); restore refuses a non-empty database (exit 2) and fills a new one', async () => {
    const created = nines(tmp.dir, ['backup', 'create', '-t', 'db']);
    expect(created.status, created.stderr).toBe(0);
    const id = /backup (\S+) complete/.exec(created.stdout)?.[1] ?? '';
    expect(nines(tmp.dir, ['backup', 'verify', id])).toMatchObject({
      status: 0,
      stdout: expect.stringContaining('readable by pg_restore --list'),
    });

    const refused = nines(tmp.dir, ['backup', 'restore', id, '--to', db.url]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^restore .*: database nines_bk_cli\S* is not empty .*--force/);

    const fresh = `${db.url}_restored`;
    const restored = nines(tmp.dir, ['backup', 'restore', id, '--to', fresh]);
    try {
      expect(restored.status, restored.stderr).toBe(0);
      const [row] = await sql<{ n: number }>(fresh, 'select count(*)::int as n from customers');
      expect(row?.n).toBe(5000);
    } finally {
      await sql(db.url.replace(/\/[^/]+$/, '/postgres'), `drop database if exists "${db.name}_restored" with (force)`);
    }

    const dump = join(repo, id, 'dump.pgdump');
    const bytes = readFileSync(dump);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 1;
    writeFileSync(dump, bytes);
    const bad = nines(tmp.dir, ['backup', 'verify', id]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      new RegExp(`^verify ${id}: dump\\.pgdump: SHA-256 [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}\\n$`),
    );
  }, 120_000);
});
