import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVE_SHUTDOWN, serveShutdownBudgetMs } from '../../src/cli/serve-shutdown.js';
import { exitOf, freePort, root, until } from '../support/e2e.js';
import { healthcheckScript, imageConfig, ready, selfChecks, someChecks, stopReport } from './contract.js';
import { compose, durationMs, imageCommand, read } from './files.js';

// The image's contract on the host, for machines without a container engine (CI): the Dockerfile's
// exact CMD with the image's config and environment, as uid 1000 and as PID 1 of its own PID
// namespace when this runs as root (so SIGTERM reaching a handler-less PID 1 would be ignored, as
// in a container), with only the data directory writable by it. npm run test:deploy runs the image itself.

const IMAGE_UID = 1000;
const asRoot = process.getuid?.() === 0 && existsSync('/usr/bin/unshare') && existsSync('/usr/bin/setpriv');
const dir = mkdtempSync(join(tmpdir(), 'nines-entrypoint-'));
const data = join(dir, 'data');
const configPath = join(dir, 'etc', 'nines.yaml');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A `nines serve` started the way the image starts it. */
interface Started {
  proc: ChildProcess;
  /** The PID of node itself (inside the wrapper when run as root). */
  pid: number;
  base: string;
  logs: () => string;
}

async function start(port: number): Promise<Started> {
  const [, ...args] = imageCommand();
  const command = [process.execPath, ...args.map((arg) => (arg === '/etc/nines/nines.yaml' ? configPath : arg))];
  const wrapped = asRoot
    ? [
        'unshare',
        '--pid',
        '--fork',
        '--kill-child',
        '--',
        'setpriv',
        `--reuid=${IMAGE_UID}`,
        `--regid=${IMAGE_UID}`,
        '--clear-groups',
        '--',
        ...command,
      ]
    : command;
  // the image's environment: ENV NODE_ENV, and the storage compose.yaml sets; nothing else of ours
  const env = { PATH: process.env.PATH, NODE_ENV: 'production', NINES_STORAGE: `sqlite:${data}/nines.db` };
  const proc = spawn(wrapped[0] ?? '', wrapped.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  proc.stdout?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  try {
    await ready(base);
  } catch (error) {
    proc.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; output:\n${logs}`);
  }
  const pid = asRoot ? await nodePid(proc.pid ?? 0) : (proc.pid ?? 0);
  return { proc, pid, base, logs: () => logs };
}

/** The child unshare forked: node, after setpriv exec'd it. */
const nodePid = (wrapper: number) =>
  until('the PID of node under unshare', async () => {
    const children = readFileSync(`/proc/${wrapper}/task/${wrapper}/children`, 'utf8').trim();
    return children === '' ? undefined : Number(children.split(' ')[0]);
  });

/** `Field:` of /proc/<pid>/status. */
const status = (pid: number, field: string) =>
  new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

describe("the image's entrypoint on this host", () => {
  it('serves, passes its own healthcheck, reloads on SIGHUP, stops on SIGTERM with 0, and keeps its history across a restart', async () => {
    mkdirSync(join(dir, 'etc'));
    mkdirSync(data);
    chmodSync(dir, 0o755);
    const port = await freePort();
    writeFileSync(configPath, imageConfig('127.0.0.1', port));
    // as in the image: the config and the code belong to root, only /data to uid 1000
    if (asRoot) chownSync(data, IMAGE_UID, IMAGE_UID);

    const first = await start(port);
    if (asRoot) {
      expect(status(first.pid, 'NSpid')?.split('\t').at(-1)).toBe('1'); // node is PID 1 of its namespace
      expect(status(first.pid, 'Uid')?.split('\t')[0]).toBe(String(IMAGE_UID));
    }
    const health = spawnSync(process.execPath, ['-e', healthcheckScript(port)], { timeout: 30_000 });
    expect(health.status).toBe(0);
    const before = await someChecks(first.base);

    process.kill(first.pid, 'SIGHUP');
    await until('the reload to be logged', async () => (first.logs().includes('config reloaded') ? true : undefined));

    process.kill(first.pid, 'SIGTERM');
    expect(await exitOf(first.proc), first.logs()).toBe(0);
    const report = stopReport(first.logs());
    expect(report).toMatchObject({ forced: false, cutRequests: 0 });
    // the hooks serve-shutdown.ts counts are the ones that ran, so every grace period derived from it holds
    expect(report?.hooks.length).toBe(SERVE_SHUTDOWN.hooks);
    expect(report?.hooks.every((h) => h.ok)).toBe(true);
    const grace = durationMs(compose().services.nines?.stop_grace_period ?? '10s');
    expect(grace).toBeGreaterThan(serveShutdownBudgetMs({}));
    console.log(`nines serve stopped in ${report?.durationMs} ms (drain ${SERVE_SHUTDOWN.drainDelayMs} ms); grace period ${grace} ms`);

    const second = await start(port);
    expect((await selfChecks(second.base)).slice(0, before.length)).toEqual(before);
    process.kill(second.pid, 'SIGTERM');
    expect(await exitOf(second.proc), second.logs()).toBe(0);

    // nothing written beside the data directory
    expect(readdirSync(dir).sort()).toEqual(['data', 'etc']);
    expect(readdirSync(join(dir, 'etc'))).toEqual(['nines.yaml']);
    expect(readdirSync(data).every((name) => name.startsWith('nines.db'))).toBe(true);
  }, 120_000);

  it('is the command the Dockerfile and the systemd unit run', () => {
    expect(imageCommand().slice(0, 3)).toEqual(['node', '--max-semi-space-size=8', '--heap-growing-percent=50']);
    expect(read('package.json')).toContain('"start": "node --max-semi-space-size=8 --heap-growing-percent=50 ');
  });
});
