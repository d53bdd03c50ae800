import { type Clock, systemClock, type TimerHandle } from '../../../core/clock.js';
import { InvalidOptionError } from '../../../core/errors.js';
import { Events, type Unsubscribe } from '../../../core/events.js';
import { checkFunction, checkString } from '../../../core/validate.js';

/** What the store needs of a query result: a pg result fits. */
interface QueryResult {
  rows: Record<string, unknown>[];
  rowCount?: number | null;
}

/** What the store needs of a pooled client: a pg `PoolClient` fits. */
export interface FlagStoreClient {
  query(text: string, params?: unknown[]): Promise<QueryResult>;
  release(destroy?: boolean | Error): void;
  on(event: 'notification', listener: (n: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** What the store needs of a pool: a pg `Pool` fits (typed here, so `nines/degrade` needs no @types/pg). */
export interface FlagStorePool {
  connect(): Promise<FlagStoreClient>;
  query(text: string, params?: unknown[]): Promise<QueryResult>;
}

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

/** Options of {@link PostgresFlagStore}. */
export interface PostgresFlagStoreOptions<T> {
  /** A pg `Pool` (`max` at least 2): the store holds one of its clients for `LISTEN`. */
  pool: FlagStorePool;
  /** Schema of the two tables (`nines_flags`, `nines_flag_audit`), created if missing. Default `public`. */
  schema?: string;
  /** Turns a stored definition into a flag; throws on an invalid one. */
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
 * Flags in PostgreSQL, shared by every instance: a change is written with its audit record in one
 * transaction and announced with `NOTIFY`, so every instance listening re-reads that flag at once
 * (no polling). Reads are from memory. A lost listening connection is re-opened with backoff and
 * every flag reloaded, so a notification missed meanwhile is not a change missed.
 */
export class PostgresFlagStore<T> {
  readonly #pool: FlagStorePool;
  readonly #schema: string;
  readonly #channel: string;
  readonly #parse: (name: string, definition: unknown) => T;
  readonly #clock: Clock;
  readonly #baseDelay: number;
  readonly #events = new Events<FlagStoreEvents<T>>();
  #flags = new Map<string, T>();
  #listener: FlagStoreClient | undefined;
  #retry: TimerHandle | undefined;
  #delay: number;
  #closed = false;

  /** Validates `options`; nothing is read until {@link PostgresFlagStore.start}. */
  constructor(options: PostgresFlagStoreOptions<T>) {
    if (typeof options?.pool?.connect !== 'function') throw new InvalidOptionError('pool must be a pg.Pool');
    checkFunction('parse', options.parse);
    const schema = options.schema === undefined ? 'public' : checkString('schema', options.schema);
    if (!NAME.test(schema)) throw new InvalidOptionError(`schema must match ${NAME}, got ${schema}`);
    this.#pool = options.pool;
    this.#schema = `"${schema}"`;
    this.#channel = `nines_flags_${schema}`;
    this.#parse = options.parse;
    this.#clock = options.clock ?? systemClock;
    this.#baseDelay = this.#delay = options.reconnectDelay ?? 500;
  }

  /** Subscribes to `change`, `replace` or `error`. */
  on<K extends keyof FlagStoreEvents<T>>(event: K, listener: (e: FlagStoreEvents<T>[K]) => void): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /** The flags as last read; no I/O. */
  get flags(): ReadonlyMap<string, T> {
    return this.#flags;
  }

  /** Creates the tables if missing, listens for changes and loads every flag. */
  async start(): Promise<ReadonlyMap<string, T>> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('nines_flags_schema'))"); // two instances starting at once
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#schema}.nines_flags (
        name text PRIMARY KEY, definition jsonb NOT NULL, updated_at timestamptz NOT NULL, updated_by text NOT NULL)`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#schema}.nines_flag_audit (
        id bigserial PRIMARY KEY, at timestamptz NOT NULL, by text NOT NULL, flag text NOT NULL,
        action text NOT NULL, before jsonb, after jsonb, reason text)`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    await this.#listen();
    return this.#flags;
  }

  /** Validates and stores `definition` as flag `name`, with its audit record; every instance hears it. */
  async put(name: string, definition: unknown, author: ChangeAuthor): Promise<T> {
    checkString('name', name);
    const flag = this.#parse(name, definition); // throws before anything is written
    await this.#change(name, 'put', definition, author);
    this.#apply(name, flag);
    return flag;
  }

  /** Removes flag `name`, with its audit record; false if there was none. */
  async remove(name: string, author: ChangeAuthor): Promise<boolean> {
    const removed = await this.#change(name, 'remove', undefined, author);
    if (removed) this.#apply(name, undefined);
    return removed;
  }

  /** The audit log, newest first: of one flag, or of all. */
  async audit(options: { flag?: string; limit?: number } = {}): Promise<FlagAuditRecord[]> {
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 100)), 10_000);
    const where = options.flag === undefined ? '' : 'WHERE flag = $2';
    const params: unknown[] = options.flag === undefined ? [limit] : [limit, options.flag];
    const { rows } = await this.#pool.query(
      `SELECT id, extract(epoch FROM at) * 1000 AS at, by, flag, action, before, after, reason
       FROM ${this.#schema}.nines_flag_audit ${where} ORDER BY id DESC LIMIT $1`,
      params,
    );
    return rows.map((r) => ({ ...r, id: Number(r.id), at: Math.round(Number(r.at)) }) as FlagAuditRecord);
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
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const before = await client.query(`SELECT definition FROM ${this.#schema}.nines_flags WHERE name = $1 FOR UPDATE`, [name]);
      const old = before.rows[0]?.definition;
      if (action === 'remove' && before.rowCount === 0) {
        await client.query('ROLLBACK');
        return false;
      }
      if (action === 'put') {
        await client.query(
          `INSERT INTO ${this.#schema}.nines_flags (name, definition, updated_at, updated_by) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
          [name, JSON.stringify(definition), at, author.by],
        );
      } else {
        await client.query(`DELETE FROM ${this.#schema}.nines_flags WHERE name = $1`, [name]);
      }
      await client.query(
        `INSERT INTO ${this.#schema}.nines_flag_audit (at, by, flag, action, before, after, reason) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
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
      await client.query('COMMIT');
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Opens the listening connection, then reads every flag (a change after LISTEN is never missed). */
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
      .query(`SELECT definition FROM ${this.#schema}.nines_flags WHERE name = $1`, [name])
      .then(({ rows }) => this.#applyStored(name, rows[0]?.definition, rows.length > 0))
      .catch((error: unknown) => this.#events.emit('error', error as Error));
  };

  async #reload(): Promise<void> {
    const { rows } = await this.#pool.query(`SELECT name, definition FROM ${this.#schema}.nines_flags`);
    const next = new Map<string, T>();
    for (const row of rows as { name: string; definition: unknown }[]) {
      try {
        next.set(row.name, this.#parse(row.name, row.definition));
      } catch (error) {
        const kept = this.#flags.get(row.name);
        if (kept !== undefined) next.set(row.name, kept); // the last good definition stays in force
        this.#events.emit('error', error as Error);
      }
    }
    this.#flags = next;
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

  #apply(name: string, flag: T | undefined): void {
    const current = this.#flags.get(name);
    if (current !== undefined && flag !== undefined && JSON.stringify(current) === JSON.stringify(flag)) return;
    if (flag === undefined && !this.#flags.has(name)) return;
    const next = new Map(this.#flags);
    if (flag === undefined) next.delete(name);
    else next.set(name, flag);
    this.#flags = next;
    this.#events.emit('change', { name, flag });
  }

  #lost(client: FlagStoreClient, error: Error): void {
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
