import { abortReason } from '../../policy/policy.js';
import { redactText } from './redact.js';

/** Milliseconds from `start` to `end` (both `performance.now()` values), rounded to 0.01 ms. */
export function since(start: number, end = performance.now()): number {
  return Math.round((end - start) * 100) / 100;
}

/** A readable message for any thrown value; an empty AggregateError (a happy-eyeballs connect) lists its causes. */
export function messageOf(error: unknown): string {
  if (error instanceof AggregateError && !error.message) {
    const causes = [...new Set(error.errors.map(messageOf))].filter(Boolean);
    if (causes.length > 0) return causes.join('; ');
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * `error` itself when its message reads well and holds none of `secrets`; else a new Error with a
 * readable, redacted message (without `cause` when something was redacted, as the cause still holds it).
 */
export function readable(error: unknown, secrets: readonly string[] = []): Error {
  const raw = messageOf(error);
  const message = redactText(raw, secrets);
  if (message !== raw) return new Error(message);
  if (error instanceof Error && error.message && !(error instanceof AggregateError)) return error;
  return new Error(message, { cause: error });
}

/**
 * Settles like `work`, or rejects with the abort reason the moment `signal` aborts; `onAbort` then
 * releases whatever `work` holds (a socket, a client), so nothing runs on after a timeout.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort?.();
      reject(abortReason(signal));
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `1536` → `1.5 KiB`: byte counts in error messages. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `0.934` → `93.4 %`. */
export function formatRatio(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** Throws a TypeError naming `name` unless `value` is a non-empty string. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string, got ${typeof value === 'string' ? '""' : typeof value}`);
  }
  return value;
}

/** Reads a response body as UTF-8, at most `limit` bytes; stopping early destroys the stream. */
export async function readText(stream: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
