import { type ChildProcess, execFile, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { redactText } from '../core/redact.js';
import { BackupError } from './errors.js';

const run = promisify(execFile);

/** Longest stderr kept from a tool for its error message. */
const STDERR_LIMIT = 8 * 1024;

/** The first line of `tool --version`, e.g. `pg_dump (PostgreSQL) 15.20`. */
export async function toolVersion(tool: string): Promise<string> {
  try {
    const { stdout } = await run(tool, ['--version']);
    return stdout.trim().split('\n')[0] ?? '';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupError('NINES_BACKUP_FAILED', `${tool}: ${code === 'ENOENT' ? 'not found on PATH' : 'cannot run'}`, { cause: error });
  }
}

/** A running tool: its process, and a promise of its successful exit (a {@link BackupError} naming it and its stderr otherwise). */
export interface RunningTool {
  child: ChildProcess;
  done: Promise<void>;
}

/**
 * Starts `tool` with `args`. Its stderr is kept (bounded, passwords and `secrets` redacted) for the
 * error if it exits non-zero; `stdin`/`stdout` are pipes when asked for.
 */
export function startTool(
  tool: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: boolean; stdout?: boolean; secrets?: string[] } = {},
): RunningTool {
  const child = spawn(tool, args, {
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ? 'pipe' : 'ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_LIMIT) stderr += chunk.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new BackupError('NINES_BACKUP_FAILED', `${tool}: ${error.code === 'ENOENT' ? 'not found on PATH' : error.message}`, {
          cause: error,
        }),
      ),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const why = redactText(stderr.trim().slice(0, STDERR_LIMIT), options.secrets ?? []);
      const how = signal === null ? `exited with ${code}` : `was killed by ${signal}`;
      reject(new BackupError('NINES_BACKUP_FAILED', `${tool} ${how}${why === '' ? '' : `: ${why}`}`));
    });
  });
  return { child, done };
}

/**
 * Writes all of `source` to a tool's stdin, then ends it. A tool may stop reading once it has what it
 * needs (`pg_restore --list` reads only the table of contents): the rest is still read from
 * `source`, so a checking stream (decryption) runs to its end, and dropped.
 */
export async function feed(source: Readable, stdin: Writable): Promise<void> {
  let open = true;
  const closed = new Promise<void>((resolve) => {
    const shut = () => {
      open = false;
      resolve();
    };
    stdin.once('error', shut); // EPIPE: the tool has stopped reading
    stdin.once('close', shut);
  });
  for await (const chunk of source) {
    if (open && !stdin.write(chunk)) await Promise.race([new Promise((r) => stdin.once('drain', r)), closed]);
  }
  if (open) stdin.end();
}
