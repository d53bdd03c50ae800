import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Which SQL dialect a backend speaks; the few places that differ branch on it. */
export type DialectName = 'sqlite' | 'postgres';

/** What a backend folder (`sqlite/`, `postgres/`) hands to the shared store. */
export interface Backend {
  readonly dialect: DialectName;
  readonly db: Kysely<Database>;
  /** PostgreSQL schema holding the tables and kysely's migration tables; undefined for the default. */
  readonly schema?: string | undefined;
  /** Bytes the store occupies. */
  size(): Promise<number>;
}
