/**
 * Point-in-time recovery end to end, on a PostgreSQL 15 cluster of the test's own (initdb, its own
 * port and temp dir, stopped by its PID): the cluster archives its WAL with `nines backup
 * wal-push`, a base backup is taken, two transactions commit, and the data directory `restore --to-time`
 * prepares for a moment between them, started, holds exactly the first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupRefusedError } from '../../src/backup/errors.js';
import { baseBackups } from '../../src/backup/postgres/pitr/base.js';
import { formatUs, parseTargetTime, restoreToTime } from '../../src/backup/postgres/pitr/restore.js';
import { archivedSegments, archiveWal } from '../../src/backup/postgres/pitr/wal.js';
import { bin, ensureBuilt, until } from '../support/e2e.js';
import { canRunOwnCluster, type OwnCluster, ownCluster, serverOwned } from '../support/pg-cluster.js';

const CAN = canRunOwnCluster();
if (!CAN) process.stderr.write('\n!!! no PostgreSQL server binaries or postgres user: the PITR test is SKIPPED !!!\n\n');
if (!CAN && process.env.CI) throw new Error('the PITR test needs PostgreSQL 15 server binaries under CI');

/** One query on a fresh connection. */
async function query<T extends Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe.runIf(CAN)('point-in-time recovery', () => {
  let cluster: OwnCluster;
  let repository: string;

  beforeAll(async () => {
    ensureBuilt();
    repository = serverOwned(mkdtempSync(join(tmpdir(), 'nines-pitr-repo-')));
    const push = [process.execPath, bin, 'backup', 'wal-push', '--repository', repository].map((a) => `'${a}'`).join(' ');
    cluster = await ownCluster({ wal_level: 'replica', archive_mode: 'on', archive_command: `'${push.replaceAll("'", "''")} %p %f'` });
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
    rmSync(repository, { recursive: true, force: true });
  });

  /** Ends the current WAL segment and waits until the cluster's archive_command (wal-push) stored it; its name. */
  async function switchWal(): Promise<string> {
    const [{ segment }] = (await query<{ segment: string }>(cluster.url, 'SELECT pg_walfile_name(pg_switch_wal()) AS segment')) as [
      { segment: string },
    ];
    await until(
      'the segment to be archived',
      async () => ((await archivedSegments(repository)).includes(segment) ? true : undefined),
      60_000,
    );
    return segment;
  }

  it('recovers to a time between two transactions and holds exactly the first; refuses targets it cannot honour', async () => {
    await query(cluster.url, 'CREATE TABLE ledger (id int PRIMARY KEY, note text)');
    await query(cluster.url, "INSERT INTO ledger VALUES (1, 'before the base backup')");
    // through the CLI, of the config's postgres target, into the config's repository
    const config = join(cluster.dir, 'nines.yaml');
    writeFileSync(
      config,
      `components:\n  - name: db\n    check: { type: tcp, host: 127.0.0.1, port: 5432 }\nbackup:\n  repository: ${repository}\n  targets:\n    db: { type: postgres, url: '${cluster.url}' }\n`,
    );
    const taken = spawnSync(process.execPath, [bin, 'backup', 'base', '--target', 'db', '--config', config], { encoding: 'utf8' });
    expect([taken.status, taken.stderr]).toEqual([0, '']);
    const [base, ...others] = await baseBackups(repository);
    expect(others).toEqual([]);
    expect(taken.stdout).toContain(`${base?.id}: ended`);
    if (base === undefined) throw new Error('no base backup');
    const unknown = spawnSync(process.execPath, [bin, 'backup', 'base', '--target', 'nope', '--config', config], { encoding: 'utf8' });
    expect([unknown.status, unknown.stderr.trim()]).toEqual([
      2,
      'backup base: backup.targets: no postgres target "nope"; postgres targets: db',
    ]);

    await query(cluster.url, "INSERT INTO ledger VALUES (2, 'first')");
    // the server's clock between the two commits: later than the first's commit record, earlier than the second's
    const [{ between }] = (await query<{ between: string }>(
      cluster.url,
      'SELECT to_char(clock_timestamp() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') AS between',
    )) as [{ between: string }];
    await query(cluster.url, "INSERT INTO ledger VALUES (3, 'second')");
    await switchWal();

    // before the base backup ended: PostgreSQL would silently stop at its end, so nines refuses
    const early = formatUs(base.startedUs).replace(' ', 'T').replace('+00', 'Z');
    await expect(restoreToTime(repository, parseTargetTime(early), join(cluster.dir, 'never'))).rejects.toThrow(
      /is before the end of the oldest base backup/,
    );
    // after the last commit archived: recovery would end short of it
    await expect(restoreToTime(repository, parseTargetTime(between) + 3_600_000_000, join(cluster.dir, 'never'))).rejects.toThrow(
      /after the end of the archived WAL \(its last commit is at/,
    );

    const restored = serverOwned(join(cluster.dir, 'restored'));
    const cli = spawnSync(
      process.execPath,
      [bin, 'backup', 'restore', '--repository', repository, '--to-time', between, '--to', restored],
      {
        encoding: 'utf8',
      },
    );
    expect([cli.status, cli.stderr]).toEqual([0, '']);
    expect(cli.stdout).toContain(`recovers from ${base.id}`);
    const both = spawnSync(process.execPath, [bin, 'backup', 'restore', base.id, '--to-time', between, '--to', restored], {
      encoding: 'utf8',
    });
    expect([both.status, both.stderr.trim()]).toEqual([2, 'backup restore: give a backup id or --to-time, not both']);
    execFileSync('chown', ['-R', '--reference', repository, restored]); // the server's user, as the repository is

    await cluster.stop();
    await cluster.start(restored);
    await until(
      'recovery to end and promote',
      async () => ((await query<{ r: boolean }>(cluster.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false ? true : undefined),
      60_000,
    );
    expect(await query(cluster.url, 'SELECT id, note FROM ledger ORDER BY id')).toEqual([
      { id: 1, note: 'before the base backup' },
      { id: 2, note: 'first' },
    ]);
  });

  it('refuses to archive a second, different file under a name already archived, and takes the same one again', async () => {
    const name = await switchWal();
    const same = join(repository, 'wal', name);
    expect(await archiveWal(repository, same, name)).toBe('already archived');
    const other = join(cluster.dir, 'other-segment');
    writeFileSync(other, 'not the same WAL');
    await expect(archiveWal(repository, other, name)).rejects.toThrow(BackupRefusedError);
    const cli = spawnSync(process.execPath, [bin, 'backup', 'wal-push', '--repository', repository, other, name], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/already archived with different content/);
    await expect(archiveWal(repository, other, '../../etc/passwd')).rejects.toThrow(/not a WAL file name/);
  });
});
