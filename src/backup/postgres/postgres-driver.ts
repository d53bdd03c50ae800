import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PostgresTargetConfig } from '../../config/backup.js';
import { hashFile, readPlain, type Written, writeArtifact } from '../artifact.js';
import { differences, recordedTables } from '../contents.js';
import type { DriverOutput, TargetDriver } from '../driver.js';
import type { BackupKey } from '../key.js';
import type { Manifest } from '../manifest.js';
import { feed, type RunningTool, startTool, toolVersion } from '../tools.js';
import { libpq, prepareTarget, serverInfo, withClient } from './connection.js';
import { countRows } from './contents.js';
import { pgTool } from './tools.js';

/** The custom-format dump's file, and the directory-format dump's folder, inside a backup. */
const DUMP_FILE = 'dump.pgdump';
const DUMP_DIR = 'dump';

/** Waits for a tool and the stream reading its output; kills the tool if the reader fails first. */
async function both<T>(tool: RunningTool, reader: Promise<T>): Promise<T> {
  try {
    const [value] = await Promise.all([reader, tool.done]);
    return value;
  } catch (error) {
    tool.child.kill('SIGKILL');
    await tool.done.catch(() => undefined);
    throw error;
  }
}

/** A PostgreSQL database, dumped with `pg_dump` (custom format, or directory format with parallel jobs) and restored with `pg_restore`. */
export function postgresDriver(target: PostgresTargetConfig): TargetDriver {
  const conn = libpq(target.url);
  const level = target.compressLevel === undefined ? [] : [`--compress=${target.compressLevel}`];
  /** Runs pg_dump in `snapshot` into the backup's folder; its artifacts. */
  async function dump(dir: string, key: BackupKey | undefined, snapshot: string): Promise<DriverOutput['artifacts']> {
    if (target.format === 'custom') {
      const tool = startTool(pgTool('pg_dump'), ['--format=custom', snapshot, ...level, '--dbname', conn.url], {
        env: conn.env,
        stdout: true,
        secrets: conn.secrets,
      });
      const stdout = tool.child.stdout as NonNullable<typeof tool.child.stdout>;
      const written: Written = await both(tool, writeArtifact(dir, DUMP_FILE, stdout, { compression: 'none', key }));
      return [written.artifact];
    }
    const out = join(dir, DUMP_DIR);
    const args = ['--format=directory', snapshot, `--jobs=${target.jobs}`, ...level, '--file', out, '--dbname', conn.url];
    await startTool(pgTool('pg_dump'), args, { env: conn.env, secrets: conn.secrets }).done;
    const artifacts: DriverOutput['artifacts'] = [];
    for (const name of (await readdir(out)).sort()) {
      const file = join(out, name);
      if (key === undefined) {
        artifacts.push({ path: `${DUMP_DIR}/${name}`, ...(await hashFile(file)) });
      } else {
        // pg_dump -Fd writes plaintext files; each is encrypted beside itself, then removed
        artifacts.push((await writeArtifact(dir, `${DUMP_DIR}/${name}`, createReadStream(file), { compression: 'none', key })).artifact);
        await unlink(file);
      }
    }
    return artifacts;
  }

  return {
    async create(dir, key): Promise<DriverOutput> {
      // the version runs beside the dump
      const version = toolVersion(pgTool('pg_dump'));
      version.catch(() => undefined); // awaited below; a missing pg_dump fails the dump first with the same message
      const info = await serverInfo(target.url);
      // the rows are counted in the snapshot pg_dump dumps, held open by this transaction until it is done
      const { artifacts, tables } = await withClient(target.url, async (client) => {
        await client.query('begin transaction isolation level repeatable read, read only');
        const [row] = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows;
        // both settle before the transaction ends: pg_dump must not outlive the snapshot it imports
        const [dumped, counted] = await Promise.allSettled([dump(dir, key, `--snapshot=${row?.id}`), countRows(client)]);
        if (dumped.status === 'rejected') throw dumped.reason;
        if (counted.status === 'rejected') throw counted.reason;
        await client.query('commit');
        return { artifacts: dumped.value, tables: counted.value };
      });
      const pgDump = await version;
      return {
        artifacts,
        contents: { tables },
        sourceBytes: info.bytes,
        source: { database: info.database, server: conn.server, serverVersion: info.serverVersion },
        tools: { pg_dump: pgDump },
        options: {
          format: target.format,
          jobs: target.jobs,
          ...(target.compressLevel === undefined ? {} : { compressLevel: target.compressLevel }),
        },
      };
    },

    async verify(dir, manifest, key) {
      await withDump(dir, manifest, key, async (path) => {
        const list = startTool(pgTool('pg_restore'), ['--list', ...(path === undefined ? [] : [path])], {
          stdin: path === undefined,
          stdout: true,
        });
        list.child.stdout?.resume();
        const reading =
          path === undefined
            ? feed(readPlain(dir, only(manifest), key), list.child.stdin as NonNullable<typeof list.child.stdin>)
            : Promise.resolve();
        await both(list, reading);
      });
    },

    async compare(_dir, manifest, _key, to) {
      const recorded = recordedTables(manifest);
      return differences(recorded, await withClient(to, countRows));
    },

    async restore(dir, manifest, key, to, force) {
      await prepareTarget(to, force);
      const into = libpq(to);
      const jobs = Number(manifest.options.jobs ?? 1);
      await withDump(dir, manifest, key, async (path) => {
        const args = ['--exit-on-error', ...(force ? ['--clean', '--if-exists'] : [])];
        // one transaction when one job: a failed restore leaves the database as it was
        args.push(...(jobs > 1 && path !== undefined ? [`--jobs=${jobs}`] : ['--single-transaction']), '--dbname', into.url);
        if (path !== undefined) args.push(path);
        const tool = startTool(pgTool('pg_restore'), args, { env: into.env, stdin: path === undefined, secrets: into.secrets });
        const reading =
          path === undefined
            ? feed(readPlain(dir, only(manifest), key), tool.child.stdin as NonNullable<typeof tool.child.stdin>)
            : Promise.resolve();
        await both(tool, reading);
      });
    },
  };
}

function only(manifest: Manifest) {
  return manifest.artifacts[0] as Manifest['artifacts'][number];
}

/**
 * Calls `fn` with what pg_restore reads: the dump's path when it is stored in plaintext, or
 * undefined for an encrypted custom dump (fn streams it, decrypted, to stdin); an encrypted
 * directory dump is decrypted into a temporary folder, removed afterwards.
 */
async function withDump(
  dir: string,
  manifest: Manifest,
  key: BackupKey | undefined,
  fn: (path: string | undefined) => Promise<void>,
): Promise<void> {
  const directory = manifest.options.format === 'directory';
  if (manifest.encryption === null) return fn(join(dir, directory ? DUMP_DIR : DUMP_FILE));
  if (!directory) return fn(undefined);
  const plain = await mkdtemp(join(tmpdir(), 'nines-restore-'));
  try {
    for (const a of manifest.artifacts) {
      const name = a.path.slice(DUMP_DIR.length + 1).replace(/\.enc$/, '');
      await pipeline(readPlain(dir, a, key), createWriteStream(join(plain, name), { mode: 0o600 }));
    }
    await fn(plain);
  } finally {
    await rm(plain, { recursive: true, force: true });
  }
}
