import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { parseDocument } from 'yaml';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { Events } from '../../core/events.js';
import { checkInteger, checkString } from '../../core/validate.js';
import { FlagsInvalidError } from './errors.js';
import type { FlagSet } from './flag-set.js';
import { flagFileSchema, problemsOf } from './schema.js';

/** Options of {@link watchFlagFile}. */
export interface FlagFileStoreOptions {
  /** The JSON (`.json`) or YAML (any other name) file: `{ flags: { <name>: <definition> } }`. */
  path: string;
  /** Quiet time after the last change before the file is read again, in ms. Default 100. */
  debounceMs?: number;
  /** Watch the file for changes. Default true; false reads it once. */
  watch?: boolean;
  /** Source of the debounce timer. Default {@link systemClock}. */
  clock?: Clock;
}

/** Events of a {@link FlagFileStore}. */
export interface FlagFileEvents {
  /** The file was read and its flags are in force. */
  load: { path: string; flags: number };
  /** The file could not be read or is invalid; the last good flags stay in force. */
  error: { path: string; error: FlagsInvalidError };
}

function parseText(path: string, text: string): unknown {
  if (extname(path) === '.json') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new FlagsInvalidError([`${basename(path)}: ${(error as Error).message}`], path);
    }
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new FlagsInvalidError(
      doc.errors.map((e) => `${basename(path)}:${e.linePos?.[0].line ?? 0}:${e.linePos?.[0].col ?? 0}: ${e.message.split('\n')[0]}`),
      path,
    );
  }
  return doc.toJS() ?? {};
}

/** Reads and validates a flag file: its flags, or `FlagsInvalidError` with every problem as `path: message`. */
export async function readFlagFile(path: string) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new FlagsInvalidError([`${basename(path)}: ${(error as Error).message}`], path);
  }
  const parsed = flagFileSchema.safeParse(parseText(path, text));
  if (!parsed.success) throw new FlagsInvalidError(problemsOf(parsed.error), path);
  return parsed.data.flags;
}

/**
 * Keeps a {@link FlagSet} in step with a JSON or YAML file: each change replaces every flag at
 * once; a bad file emits `error` and changes nothing. Made by {@link watchFlagFile}.
 */
export class FlagFileStore extends Events<FlagFileEvents> {
  readonly path: string;
  readonly #flags: FlagSet;
  readonly #debounceMs: number;
  readonly #clock: Clock;
  #watcher: FSWatcher | undefined;
  #timer: TimerHandle | undefined;
  #reading: Promise<void> = Promise.resolve();
  #closed = false;

  /** Use {@link watchFlagFile}, which also reads the file once. */
  constructor(flags: FlagSet, options: FlagFileStoreOptions) {
    super();
    this.path = checkString('path', options.path);
    this.#debounceMs = checkInteger('debounceMs', options.debounceMs ?? 100);
    this.#clock = options.clock ?? systemClock;
    this.#flags = flags;
  }

  /** Reads the file now and applies it; rejects with `FlagsInvalidError` (and emits `error`) if it is bad. */
  reload(): Promise<void> {
    // one read at a time, so an older read never lands after a newer one
    const next = this.#reading.then(async () => {
      if (this.#closed) return;
      try {
        const flags = await readFlagFile(this.path);
        this.#flags.replace(flags);
        this.emit('load', { path: this.path, flags: Object.keys(flags).length });
      } catch (error) {
        const invalid = error instanceof FlagsInvalidError ? error : new FlagsInvalidError([String(error)], this.path);
        this.emit('error', { path: this.path, error: invalid });
        throw invalid;
      }
    });
    this.#reading = next.catch(() => undefined);
    return next;
  }

  /** Starts watching the file's folder (editors replace files rather than write them in place). */
  watch(): void {
    const file = basename(this.path);
    this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, name) => {
      if (name === null || name === file) this.#schedule();
    });
    this.#watcher.on('error', (error) => this.emit('error', { path: this.path, error: new FlagsInvalidError([String(error)], this.path) }));
  }

  /** Stops watching; the flag set keeps the flags it has. */
  close(): void {
    this.#closed = true;
    this.#timer?.clear();
    this.#watcher?.close();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer?.clear();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.reload().catch(() => undefined); // reported as the `error` event
    }, this.#debounceMs);
    this.#timer.unref();
  }
}

/**
 * Loads `options.path` into `flags` and keeps watching it. A bad file at start rejects with
 * `FlagsInvalidError` (every problem as `path: message`); a bad file later emits `error` and keeps
 * the last good flags in force. Call `close()` to stop.
 */
export async function watchFlagFile(flags: FlagSet, options: FlagFileStoreOptions): Promise<FlagFileStore> {
  const store = new FlagFileStore(flags, options);
  await store.reload();
  if (options.watch !== false) store.watch();
  return store;
}
