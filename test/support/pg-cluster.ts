import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from './e2e.js';

/** The PostgreSQL server binaries of the major version the shared server runs (Debian's layout). */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** The `postgres` user's ids, which PostgreSQL needs to run as when the tests run as root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) };
  } catch {
    return undefined;
  }
}

/** Whether this machine can make a PostgreSQL cluster of a test's own: the binaries and a `postgres` user (needed when run as root). */
export function canRunOwnCluster(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && (process.getuid?.() !== 0 || postgresUser() !== undefined);
}

/** A PostgreSQL cluster of one test's own, in a temp dir, on a free loopback port. */
export interface OwnCluster {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string;
  /** The temp dir: `data/` is the cluster, the rest is the test's (owned by the server's user). */
  dir: string;
  /** Runs `bin` (a PostgreSQL tool) as the server's user, returning its stdout. */
  run(bin: string, args: string[]): string;
  /** Starts the server on `dataDir` (default the cluster's), waiting until it accepts connections. */
  start(dataDir?: string): Promise<void>;
  /** Stops the server by its PID (SIGINT: fast shutdown) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops it and removes the dir. */
  destroy(): Promise<void>;
}

/**
 * Makes a cluster with `initdb` (trust auth, loopback only) and starts it, with `settings` added to
 * postgresql.conf. Run as root, everything runs as the `postgres` user, as PostgreSQL requires.
 * Never touches the shared server.
 */
export async function ownCluster(settings: Record<string, string> = {}): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'nines-pg-'));
  chmodSync(dir, 0o755);
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  const run = (bin: string, args: string[]) =>
    execFileSync(join(PG_BIN, bin), args, {
      ...ids,
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const conf = {
    listen_addresses: "'127.0.0.1'",
    port: String(port),
    unix_socket_directories: `'${dir}'`,
    fsync: 'off',
    ...settings,
  };
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    Object.entries(conf)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join(''),
  );
  let current = data;
  let pid: number | undefined;
  const start = async (dataDir = data) => {
    current = dataDir;
    const proc = spawn(join(PG_BIN, 'postgres'), ['-D', dataDir], { ...ids, stdio: ['ignore', 'ignore', 'pipe'], detached: false });
    let log = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    pid = proc.pid;
    await until(
      'the cluster to accept connections',
      async () => {
        if (proc.exitCode !== null) throw new Error(`postgres exited with ${proc.exitCode}: ${log}`);
        execFileSync(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
        return true;
      },
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${log}`);
    });
  };
  const stop = async () => {
    if (pid === undefined) return;
    const stopping = pid;
    pid = undefined;
    try {
      process.kill(stopping, 'SIGINT');
    } catch {
      return; // already gone
    }
    await until(
      'the cluster to stop',
      async () => {
        try {
          process.kill(stopping, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      60_000,
    );
    const pidFile = join(current, 'postmaster.pid');
    if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').startsWith(`${stopping}\n`)) rmSync(pidFile);
  };
  await start();
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    run,
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Makes `path` (a dir under a cluster's) owned by the server's user, so the server can write there. */
export function serverOwned(path: string): string {
  mkdirSync(path, { recursive: true });
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (user !== undefined) chownSync(path, user.uid, user.gid);
  return path;
}
