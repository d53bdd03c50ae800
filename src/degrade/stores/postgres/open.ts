import pg from 'pg';
import type { Clock } from '../../../core/clock.js';
import { parseFlag } from '../../flags/flag-set.js';
import type { FlagDefinition } from '../../flags/schema.js';
import { PostgresFlagStore } from './flag-store.js';

/** A started flag store of nines flags on its own pool; `close` stops it and ends the pool. */
export interface OpenedFlagStore {
  store: PostgresFlagStore<FlagDefinition>;
  close(): Promise<void>;
}

/** Opens a pool on `url` (3 connections: one listens) and starts a {@link PostgresFlagStore} in `schema`. */
export async function openFlagStore(url: string, options: { schema?: string; clock?: Clock } = {}): Promise<OpenedFlagStore> {
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  pool.on('error', () => undefined); // an idle client lost: the store reconnects by itself
  const store = new PostgresFlagStore<FlagDefinition>({ pool, parse: parseFlag, ...options });
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
