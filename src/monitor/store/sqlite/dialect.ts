import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { Backend } from '../backend.js';
import type { Database } from '../schema.js';
import { sqliteSize } from './size.js';

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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return { dialect: 'sqlite', db, size: () => sqliteSize(db) };
}
