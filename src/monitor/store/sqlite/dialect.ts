import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';
import type { Backend, StoreCapabilities } from '../backend.js';
import type { Database } from '../schema.js';
import { sqliteSize } from './size.js';

/** One file, one writer (kysely runs its transactions one at a time on one connection). */
const SQLITE_CAPABILITIES: StoreCapabilities = Object.freeze({
  concurrentWriters: false,
  supportsRowLocks: false,
  supportsListenNotify: false,
  supportsAdvisoryLocks: false,
});

/** Opens (creating it and its directory if needed) the SQLite file at `file`, relative to cwd, or `:memory:`. */
export async function createSqliteBackend(file: string): Promise<Backend> {
  // Loaded here, not at the top, so a PostgreSQL user never loads the native module.
  const { default: SQLite } = await import('better-sqlite3');
  const memory = file === ':memory:';
  const path = memory ? file : resolve(file);
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  // WAL + NORMAL: a killed process loses nothing committed and never tears a transaction; only a
  // power loss can drop the last commits. The busy timeout rides out a concurrent reader's lock.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
  return { dialect: 'sqlite', capabilities: SQLITE_CAPABILITIES, db, size: () => sqliteSize(db) };
}

/** Prepared statements kept per SQL text; more distinct texts than this evict the oldest. */
const STATEMENTS = 256;

/**
 * `database` with its prepared statements reused: kysely prepares every query anew, and preparing
 * cost as much as running the status page's queries. Safe because better-sqlite3 runs a statement
 * to completion before the next starts (nines never streams rows, which would hold one open).
 */
export function withStatementCache(database: SqliteDatabase): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      database.close();
    },
    prepare(sql) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (cache.size >= STATEMENTS) cache.delete(cache.keys().next().value as string);
      } else {
        cache.delete(sql); // re-inserted below: most recently used last
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
