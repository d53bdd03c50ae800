// A benchmark's server in a child process: started, its port read from its stdout, stopped.
import { type ChildProcess, spawn } from 'node:child_process';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** A running child server. */
export interface Child {
  proc: ChildProcess;
  /** The first of `ports`. */
  port: number;
  /** Every port it printed (one line, comma-separated). */
  ports: number[];
}

/**
 * Runs `argv` (node first) with an IPC channel, optionally pinned to `cpu` with taskset (which execs
 * node: same pid), and resolves once it prints its port or ports (one line: digits, comma-separated) on stdout.
 */
export function startChild(label: string, argv: readonly string[], cpu?: string): Promise<Child> {
  const full = cpu === undefined ? [...argv] : ['taskset', '-c', cpu, ...argv];
  const [cmd, ...args] = full as [string, ...string[]];
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${label} server ${why}; stdout: ${JSON.stringify(out.slice(0, 500))}`));
    };
    const timer = setTimeout(() => fail(`printed no port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    proc.once('error', (e) => fail(`failed to start: ${e.message}`));
    proc.once('exit', (code, signal) => fail(`exited before printing its port (code ${code}, signal ${signal})`));
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const m = /^(\d+(?:,\d+)*)$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      proc.stdout?.removeAllListeners('data');
      proc.stdout?.resume();
      const ports = (m[1] as string).split(',').map(Number);
      resolve({ proc, port: ports[0] as number, ports });
    });
  });
}

/** Stops `child`: disconnects its IPC channel (the fixtures exit on that), SIGKILL if it lingers. */
export async function stopChild(child: Child): Promise<void> {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (proc.connected)
    proc.disconnect(); // the fixture exits on disconnect (and writes its --cpu-prof)
  else proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
