import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Which SQL dialect a backend speaks; the few places that differ branch on it. */
export type DialectName = 'sqlite' | 'postgres';

/**
 * What a backend can do beyond the common SQL, so shared code asks for a capability instead of
 * testing the dialect's name (a third backend then only declares its own).
 */
export interface StoreCapabilities {
  /** Several processes may write at once, through a pool of connections (PostgreSQL); SQLite has one writer. */
  readonly concurrentWriters: boolean;
  /** `select … for update / for share` row locks, needed where a pool's transactions must see each other's result. */
  readonly supportsRowLocks: boolean;
  /** `LISTEN` / `NOTIFY`, for instances that must hear each other's writes (the HA monitor). */
  readonly supportsListenNotify: boolean;
  /** Session advisory locks (`pg_try_advisory_lock`), for leader election and ownership of components. */
  readonly supportsAdvisoryLocks: boolean;
}

/** What a backend folder (`sqlite/`, `postgres/`) hands to the shared store. */
export interface Backend {
  /** For the migrations' DDL, which differs by dialect; behaviour branches on {@link capabilities}. */
  readonly dialect: DialectName;
  readonly capabilities: StoreCapabilities;
  readonly db: Kysely<Database>;
  /** PostgreSQL schema holding the tables and kysely's migration tables; undefined for the default. */
  readonly schema?: string | undefined;
  /** Bytes the store occupies. */
  size(): Promise<number>;
}
