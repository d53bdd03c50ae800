import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout, and the built CLI the end-to-end tests run. */
export const root = fileURLToPath(new URL('../../', import.meta.url));
export const bin = join(root, 'dist/cli/index.js');

/** Builds dist/ unless a build is there (npm test builds first; a lone vitest run may not have). */
export function ensureBuilt(): void {
  if (!existsSync(join(root, 'dist/server/app.js')))
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')]);
}

/** A loopback port nobody listens on right now. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** Thrown by an `until` poll to stop waiting at once. */
export class GiveUp extends Error {}

/** Polls `fn` every 25 ms until it gives something other than undefined; `timeoutMs` is a hang guard, not a speed limit. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch((error: unknown) => {
      if (error instanceof GiveUp) throw error;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs `command` (node + args) and resolves once its stdout says it serves; stdout is collected in `output`. */
export async function startServing(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const proc: ChildProcess = spawn(process.execPath, args, {
    cwd: options.cwd ?? root,
    env: { ...process.env, NINES_DRAIN_DELAY_MS: '0', NINES_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const listening = async () => {
    if (proc.exitCode !== null) throw new GiveUp(`exited with ${proc.exitCode}`);
    return output.includes('status and API at') ? true : undefined;
  };
  await until('the listening line', listening, options.timeoutMs ?? 30_000).catch((error: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${error.message}; output so far:\n${output}`);
  });
  return { proc, output: () => output };
}

/** Resolves with the exit code once `proc` exits. */
export function exitOf(proc: ChildProcess): Promise<number | null> {
  return proc.exitCode !== null ? Promise.resolve(proc.exitCode) : new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

/**
 * Starts a server binary of the Prometheus family (`prometheus`, `prometheus-alertmanager`) on a
 * free loopback port with its files in a temp dir, and waits for its `/-/ready`. `args` gets the dir
 * (it writes the daemon's config there) and the listen address; stop() kills it by its PID and
 * removes the dir.
 */
export async function startReadyDaemon(
  what: string,
  bin: string,
  args: (dir: string, listen: string) => string[],
): Promise<{ base: string; dir: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), `nines-${what.toLowerCase()}-`));
  const port = await freePort();
  const proc = spawn(bin, args(dir, `127.0.0.1:${port}`), { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  const stop = () => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(`${what} to be ready`, async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined), 60_000);
  } catch (error) {
    stop();
    throw error;
  }
  return { base, dir, stop };
}
