import { type Clock, systemClock, type TimerHandle } from '../../../core/clock.js';
import { InvalidOptionError } from '../../../core/errors.js';
import { Events, type Unsubscribe } from '../../../core/events.js';
import { type PgClient, type PgPool, withTransaction } from '../../../core/pg.js';
import { checkFunction, checkString } from '../../../core/validate.js';

/** What the store needs of a pooled client: a pg `PoolClient` fits. */
export type DocumentClient = PgClient;

/** What the store needs of a pool: a pg `Pool` fits (typed here, so `nines/degrade` needs no @types/pg). */
export type DocumentPool = PgPool;

/** One change of a document, as every instance hears it. */
export interface StoredDocumentChange<T> {
  name: string;
  /** The document now; undefined when it was removed. */
  document: T | undefined;
}

/** One entry of an audit log: who changed which document, when, from what to what. */
export interface DocumentAuditRecord {
  id: number;
  /** ms since the epoch. */
  at: number;
  by: string;
  name: string;
  action: 'put' | 'remove';
  before: unknown;
  after: unknown;
  reason: string | null;
}

/** Events of a {@link PostgresDocuments}. */
export interface DocumentEvents<T> {
  /** A document changed (here or in another instance). */
  change: StoredDocumentChange<T>;
  /** Every document was (re)loaded: at start and after the listening connection came back. */
  replace: ReadonlyMap<string, T>;
  /** A stored definition did not parse (the last good one stays), or the connection failed. */
  error: Error;
}

/** Options of {@link PostgresDocuments}. */
export interface PostgresDocumentsOptions<T> {
  /** A pg `Pool` (`max` at least 2): the store holds one of its clients for `LISTEN`. */
  pool: DocumentPool;
  /** Schema of the two tables, created if missing. Default `public`. */
  schema?: string;
  /** The documents' table; its channel is `<table>_<schema>`. */
  table: string;
  /** The audit log's table. */
  auditTable: string;
  /** Turns a stored definition into a document; throws on an invalid one. */
  parse: (name: string, definition: unknown) => T;
  /** Time of changes and of reconnect waits. Default {@link systemClock}. */
  clock?: Clock;
  /** ms before listening again after the connection was lost (doubling up to 30 s). Default 500. */
  reconnectDelay?: number;
}

/** Who makes a change, and why: both go to the audit log. */
export interface ChangeAuthor {
  by: string;
  reason?: string;
}

const NAME = /^[a-z_][a-z0-9_]{0,40}$/;

/**
 * Named JSON documents in PostgreSQL, shared by every instance: a change is written with its audit
 * record in one transaction and announced with `NOTIFY`, so every instance listening re-reads that
 * document at once (no polling). Reads are from memory. A lost listening connection is re-opened
 * with backoff and every document reloaded, so a notification missed meanwhile is not a change
 * missed. The flags (`PostgresFlagStore`) and `nines serve`'s degradation level live in one each.
 */
export class PostgresDocuments<T> {
  readonly #pool: DocumentPool;
  readonly #schema: string;
  readonly #table: string;
  readonly #auditTable: string;
  readonly #channel: string;
  readonly #parse: (name: string, definition: unknown) => T;
  readonly #clock: Clock;
  readonly #baseDelay: number;
  readonly #events = new Events<DocumentEvents<T>>();
  #documents = new Map<string, T>();
  #listener: DocumentClient | undefined;
  #retry: TimerHandle | undefined;
  #delay: number;
  #closed = false;

  /** Validates `options`; nothing is read until {@link PostgresFlagStore.start}. */
  constructor(options: PostgresDocumentsOptions<T>) {
    if (typeof options?.pool?.connect !== 'function') throw new InvalidOptionError('pool must be a pg.Pool');
    checkFunction('parse', options.parse);
    const schema = options.schema === undefined ? 'public' : checkString('schema', options.schema);
    if (!NAME.test(schema)) throw new InvalidOptionError(`schema must match ${NAME}, got ${schema}`);
    for (const key of ['table', 'auditTable'] as const) {
      if (!NAME.test(checkString(key, options[key]))) throw new InvalidOptionError(`${key} must match ${NAME}, got ${options[key]}`);
    }
    this.#pool = options.pool;
    this.#schema = `"${schema}"`;
    this.#table = `"${schema}"."${options.table}"`;
    this.#auditTable = `"${schema}"."${options.auditTable}"`;
    this.#channel = `${options.table}_${schema}`;
    // PostgreSQL cuts identifiers at 63 bytes: LISTEN would then hear another channel than NOTIFY names
    if (this.#channel.length > 63)
      throw new InvalidOptionError(`table and schema together must be at most 62 characters, got ${this.#channel}`);
    this.#parse = options.parse;
    this.#clock = options.clock ?? systemClock;
    this.#baseDelay = this.#delay = options.reconnectDelay ?? 500;
  }

  /** Subscribes to `change`, `replace` or `error`. */
  on<K extends keyof DocumentEvents<T>>(event: K, listener: (e: DocumentEvents<T>[K]) => void): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /** The documents as last read; no I/O. */
  get documents(): ReadonlyMap<string, T> {
    return this.#documents;
  }

  /** Creates the tables if missing, listens for changes and loads every document. */
  async start(): Promise<ReadonlyMap<string, T>> {
    await withTransaction(this.#pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('nines_documents_schema'))"); // two instances starting at once
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#table} (
        name text PRIMARY KEY, definition jsonb NOT NULL, updated_at timestamptz NOT NULL, updated_by text NOT NULL)`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#auditTable} (
        id bigserial PRIMARY KEY, at timestamptz NOT NULL, by text NOT NULL, name text NOT NULL,
        action text NOT NULL, before jsonb, after jsonb, reason text)`);
    });
    await this.#listen();
    return this.#documents;
  }

  /** Validates and stores `definition` as document `name`, with its audit record; every instance hears it. */
  async put(name: string, definition: unknown, author: ChangeAuthor): Promise<T> {
    checkString('name', name);
    const document = this.#parse(name, definition); // throws before anything is written
    await this.#change(name, 'put', definition, author);
    this.#apply(name, document);
    return document;
  }

  /** Removes document `name`, with its audit record; false if there was none. */
  async remove(name: string, author: ChangeAuthor): Promise<boolean> {
    const removed = await this.#change(name, 'remove', undefined, author);
    if (removed) this.#apply(name, undefined);
    return removed;
  }

  /** The audit log, newest first (at most `limit`, default 100): of document `name`, or of all. */
  async history(options: { name?: string; limit?: number } = {}): Promise<DocumentAuditRecord[]> {
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 100)), 10_000);
    const where = options.name === undefined ? '' : 'WHERE name = $2';
    const params: unknown[] = options.name === undefined ? [limit] : [limit, options.name];
    const { rows } = await this.#pool.query(
      `SELECT id, extract(epoch FROM at) * 1000 AS at, by, name, action, before, after, reason
       FROM ${this.#auditTable} ${where} ORDER BY id DESC LIMIT $1`,
      params,
    );
    return rows.map((r) => ({ ...r, id: Number(r.id), at: Math.round(Number(r.at)) }) as DocumentAuditRecord);
  }

  /** Stops listening; the pool stays the caller's. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#retry?.clear();
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener === undefined) return;
    await listener.query(`UNLISTEN "${this.#channel}"`).catch(() => undefined);
    listener.release();
  }

  /** Writes one change and its audit record in one transaction, then notifies. */
  async #change(name: string, action: 'put' | 'remove', definition: unknown, author: ChangeAuthor): Promise<boolean> {
    checkString('by', author?.by);
    const at = new Date(this.#clock.now());
    return withTransaction(this.#pool, async (client) => {
      const before = await client.query(`SELECT definition FROM ${this.#table} WHERE name = $1 FOR UPDATE`, [name]);
      const old = before.rows[0]?.definition;
      if (action === 'remove' && before.rowCount === 0) return false; // nothing written: the commit only ends the lock
      if (action === 'put') {
        await client.query(
          `INSERT INTO ${this.#table} (name, definition, updated_at, updated_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
          [name, JSON.stringify(definition), at, author.by],
        );
      } else {
        await client.query(`DELETE FROM ${this.#table} WHERE name = $1`, [name]);
      }
      await client.query(
        `INSERT INTO ${this.#auditTable} (at, by, name, action, before, after, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          at,
          author.by,
          name,
          action,
          old === undefined ? null : JSON.stringify(old),
          action === 'put' ? JSON.stringify(definition) : null,
          author.reason ?? null,
        ],
      );
      await client.query('SELECT pg_notify($1, $2)', [this.#channel, name]); // delivered at commit
      return true;
    });
  }

  /** Opens the listening connection, then reads every document (a change after LISTEN is never missed). */
  async #listen(): Promise<void> {
    const client = await this.#pool.connect();
    client.on('notification', this.#onNotification);
    client.on('error', (error) => this.#lost(client, error));
    try {
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (error) {
      client.release(true);
      throw error;
    }
    this.#listener = client;
    await this.#reload();
    this.#delay = this.#baseDelay;
  }

  readonly #onNotification = (n: { channel: string; payload?: string }): void => {
    if (n.channel !== this.#channel || n.payload === undefined) return;
    const name = n.payload;
    this.#pool
      .query(`SELECT definition FROM ${this.#table} WHERE name = $1`, [name])
      .then(({ rows }) => this.#applyStored(name, rows[0]?.definition, rows.length > 0))
      .catch((error: unknown) => this.#events.emit('error', error as Error));
  };

  async #reload(): Promise<void> {
    const { rows } = await this.#pool.query(`SELECT name, definition FROM ${this.#table}`);
    const next = new Map<string, T>();
    for (const row of rows as { name: string; definition: unknown }[]) {
      try {
        next.set(row.name, this.#parse(row.name, row.definition));
      } catch (error) {
        const kept = this.#documents.get(row.name);
        if (kept !== undefined) next.set(row.name, kept); // the last good definition stays in force
        this.#events.emit('error', error as Error);
      }
    }
    this.#documents = next;
    this.#events.emit('replace', next);
  }

  #applyStored(name: string, definition: unknown, exists: boolean): void {
    if (!exists) {
      this.#apply(name, undefined);
      return;
    }
    try {
      this.#apply(name, this.#parse(name, definition));
    } catch (error) {
      this.#events.emit('error', error as Error); // keep the last good one
    }
  }

  #apply(name: string, document: T | undefined): void {
    const current = this.#documents.get(name);
    if (current !== undefined && document !== undefined && JSON.stringify(current) === JSON.stringify(document)) return;
    if (document === undefined && !this.#documents.has(name)) return;
    const next = new Map(this.#documents);
    if (document === undefined) next.delete(name);
    else next.set(name, document);
    this.#documents = next;
    this.#events.emit('change', { name, document });
  }

  #lost(client: DocumentClient, error: Error): void {
    if (this.#listener !== client) return;
    this.#listener = undefined;
    client.release(error); // destroys it
    this.#events.emit('error', error);
    this.#again();
  }

  #again(): void {
    if (this.#closed) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, 30_000);
    const retry = this.#clock.setTimeout(() => {
      this.#listen().catch((error: unknown) => {
        this.#events.emit('error', error as Error);
        this.#again();
      });
    }, delay);
    retry.unref();
    this.#retry = retry;
  }
}
