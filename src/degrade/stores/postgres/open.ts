import pg from 'pg';
import type { Clock } from '../../../core/clock.js';
import { parseFlag } from '../../flags/flag-set.js';
import type { FlagDefinition } from '../../flags/schema.js';
import { PostgresDocuments, type PostgresDocumentsOptions } from './documents.js';
import { PostgresFlagStore } from './flag-store.js';

/** A started store on its own pool; `close` stops it and ends the pool. */
export interface Opened<S> {
  store: S;
  close(): Promise<void>;
}

/** A started flag store of nines flags on its own pool. */
export type OpenedFlagStore = Opened<PostgresFlagStore<FlagDefinition>>;

/** Opens a pool on `url` with `max` connections (one listens), makes a store on it and starts it; a failed start ends the pool. */
async function started<S extends { start(): Promise<unknown>; close(): Promise<void> }>(
  url: string,
  max: number,
  make: (pool: pg.Pool) => S,
): Promise<Opened<S>> {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined); // an idle client lost: the store reconnects by itself
  const store = make(pool);
  try {
    await store.start();
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    store,
    close: async () => {
      await store.close();
      await pool.end();
    },
  };
}

/** Opens a pool on `url` (3 connections: one listens) and starts a {@link PostgresFlagStore} in `schema`. */
export function openFlagStore(url: string, options: { schema?: string; clock?: Clock } = {}): Promise<OpenedFlagStore> {
  return started(url, 3, (pool) => new PostgresFlagStore<FlagDefinition>({ pool, parse: parseFlag, ...options }));
}

/** Opens a pool on `url` (2 connections: one listens) and starts {@link PostgresDocuments} with `options`. */
export function openDocuments<T>(url: string, options: Omit<PostgresDocumentsOptions<T>, 'pool'>): Promise<Opened<PostgresDocuments<T>>> {
  return started(url, 2, (pool) => new PostgresDocuments<T>({ pool, ...options }));
}
