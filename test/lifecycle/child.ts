/** Runs test/lifecycle/fixtures/server.ts in a child process and reads what it prints. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/server.ts', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  process: ChildProcess;
  port: number;
  /** JSON lines from stdout ({port}, {served}). */
  stdout: Record<string, unknown>[];
  /** The shutdown's log, one JSON object per stderr line. */
  logs: Record<string, unknown>[];
  /** Stderr lines that were not JSON (there should be none). */
  otherStderr: string[];
  /** Calls `fn` once for the first log line whose msg starts with `prefix`. */
  onLog(prefix: string, fn: () => void): void;
  /** Exit code and the time it exited (Date.now()). */
  exited: Promise<{ code: number | null; signal: string | null; at: number }>;
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
  });
}

/** Starts the fixture with `env` (DRAIN_DELAY, TIMEOUT) and resolves once it listens. */
export function startChild(env: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const watchers: { prefix: string; fn: () => void }[] = [];
  const result = { process: child, port: 0, stdout: [], logs: [], otherStderr: [], exited } as Omit<Child, 'onLog'>;
  lines(child.stderr as NodeJS.ReadableStream, (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      result.logs.push(entry);
      for (const w of watchers.splice(0)) {
        if (String(entry.msg).startsWith(w.prefix)) w.fn();
        else watchers.push(w);
      }
    } catch {
      result.otherStderr.push(line);
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fixture did not start: ${result.otherStderr.join('\n')}`)), 8_000);
    void exited.then(({ code }) => reject(new Error(`fixture exited early (${code}): ${result.otherStderr.join('\n')}`)));
    lines(child.stdout as NodeJS.ReadableStream, (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      result.stdout.push(entry);
      if (typeof entry.port === 'number') {
        clearTimeout(timer);
        result.port = entry.port;
        resolve({ ...result, onLog: (prefix, fn) => watchers.push({ prefix, fn }) } as Child);
      }
    });
  });
}
