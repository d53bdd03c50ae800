import type { Unsubscribe } from '../../../core/events.js';
import {
  type ChangeAuthor,
  type DocumentClient,
  type DocumentEvents,
  type DocumentPool,
  PostgresDocuments,
  type PostgresDocumentsOptions,
} from './documents.js';

export type { ChangeAuthor };
/** What the store needs of a pooled client: a pg `PoolClient` fits. */
export type FlagStoreClient = DocumentClient;
/** What the store needs of a pool: a pg `Pool` fits (typed here, so `nines/degrade` needs no @types/pg). */
export type FlagStorePool = DocumentPool;

/** One change of the flags, as every instance hears it. */
export interface StoredFlagChange<T> {
  name: string;
  /** The flag now; undefined when it was removed. */
  flag: T | undefined;
}

/** One entry of the audit log: who changed which flag, when, from what to what. */
export interface FlagAuditRecord {
  id: number;
  /** ms since the epoch. */
  at: number;
  by: string;
  flag: string;
  action: 'put' | 'remove';
  before: unknown;
  after: unknown;
  reason: string | null;
}

/** Events of a {@link PostgresFlagStore}. */
export interface FlagStoreEvents<T> {
  /** A flag changed (here or in another instance). */
  change: StoredFlagChange<T>;
  /** Every flag was (re)loaded: at start and after the listening connection came back. */
  replace: ReadonlyMap<string, T>;
  /** A stored definition did not parse (the last good one stays), or the connection failed. */
  error: Error;
}

/** Options of {@link PostgresFlagStore}: those of the documents but the table names. */
export type PostgresFlagStoreOptions<T> = Omit<PostgresDocumentsOptions<T>, 'table' | 'auditTable'> & {
  /** Schema of the two tables (`nines_flags`, `nines_flag_audit`), created if missing. Default `public`. */
  schema?: string;
};

/**
 * Flags in PostgreSQL (tables `nines_flags` and `nines_flag_audit`), shared by every instance: a
 * change is written with its audit record in one transaction and announced with `NOTIFY`, so every
 * instance listening re-reads that flag at once (no polling). Reads are from memory. A lost
 * listening connection is re-opened with backoff and every flag reloaded, so a notification missed
 * meanwhile is not a change missed.
 */
export class PostgresFlagStore<T> {
  readonly #documents: PostgresDocuments<T>;

  /** Validates `options`; nothing is read until {@link PostgresFlagStore.start}. */
  constructor(options: PostgresFlagStoreOptions<T>) {
    this.#documents = new PostgresDocuments({ ...options, table: 'nines_flags', auditTable: 'nines_flag_audit' });
  }

  /** Subscribes to `change`, `replace` or `error`. */
  on<K extends keyof FlagStoreEvents<T>>(event: K, listener: (e: FlagStoreEvents<T>[K]) => void): Unsubscribe {
    if (event !== 'change') return this.#documents.on(event as keyof DocumentEvents<T>, listener as never);
    const onChange = listener as (e: StoredFlagChange<T>) => void;
    return this.#documents.on('change', ({ name, document }) => onChange({ name, flag: document }));
  }

  /** The flags as last read; no I/O. */
  get flags(): ReadonlyMap<string, T> {
    return this.#documents.documents;
  }

  /** Creates the tables if missing, listens for changes and loads every flag. */
  start(): Promise<ReadonlyMap<string, T>> {
    return this.#documents.start();
  }

  /** Validates and stores `definition` as flag `name`, with its audit record; every instance hears it. */
  put(name: string, definition: unknown, author: ChangeAuthor): Promise<T> {
    return this.#documents.put(name, definition, author);
  }

  /** Removes flag `name`, with its audit record; false if there was none. */
  remove(name: string, author: ChangeAuthor): Promise<boolean> {
    return this.#documents.remove(name, author);
  }

  /** The audit log, newest first (at most `limit`, default 100): of one flag, or of all. */
  async audit(options: { flag?: string; limit?: number } = {}): Promise<FlagAuditRecord[]> {
    const { flag, ...rest } = options;
    const records = await this.#documents.history({ ...rest, ...(flag === undefined ? {} : { name: flag }) });
    return records.map(({ name, ...r }) => ({ ...r, flag: name }));
  }

  /** Stops listening; the pool stays the caller's. */
  close(): Promise<void> {
    return this.#documents.close();
  }
}
