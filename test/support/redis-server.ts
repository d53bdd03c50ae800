/**
 * A redis-server of the test's own, on its own loopback port, for tests that must stop Redis (the
 * shared one is never stopped). Stopped by its PID; `restart` brings it back on the same port.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from './e2e.js';

/** True when `redis-server` can be run; false (after a loud warning) when not and CI is unset; throws under CI. */
export function hasRedisServer(): boolean {
  if (spawnSync('redis-server', ['--version']).status === 0) return true;
  const message = 'redis-server is not installed: the tests that stop their own Redis are SKIPPED';
  if (process.env.CI) throw new Error(`${message} and CI is set`);
  process.stderr.write(`\n!!! ${message} !!!\n\n`);
  return false;
}

/** Starts a redis-server on a free loopback port and waits until it answers PING. */
export async function ownRedisServer() {
  const dir = mkdtempSync(join(tmpdir(), 'nines-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    proc = child;
    await until(`redis-server on ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
      return (await ping(port)) ? true : undefined;
    });
  };
  const stop = async () => {
    const child = proc;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid as number, 'SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** The server's PID, while it runs. */
    get pid(): number | undefined {
      return proc?.pid;
    },
    /** Kills the server by its PID and waits until it is gone. */
    stop,
    /** Starts it again on the same port (the old one must be stopped). */
    restart: start,
    /** Stops it and removes its directory. */
    async close(): Promise<void> {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when a Redis on loopback `port` answers PING with PONG within a second. */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}
