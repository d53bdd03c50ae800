import { redactText } from '../../health/checks/redact.js';
import type { Clock } from '../../policy/clock.js';
import { checkInteger } from '../../policy/validate.js';
import type { Backend } from './backend.js';
import { KyselyStore } from './kysely-store.js';
import type { Store } from './types.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Accepted for symmetry with the monitor; the store itself takes every time as an argument. */
  clock?: Clock | undefined;
  /** PostgreSQL schema for the tables, created if missing and put on every connection's search_path; ignored by SQLite. */
  schema?: string | undefined;
  /** How late a check may be written after its minute ends; compact() folds only minutes older than that. Default 120 000. */
  lateMs?: number | undefined;
  /** PostgreSQL: longest wait for an answer, a connection or a free pooled connection before failing. Default 15 000. */
  timeoutMs?: number | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Opens the store at `url`: `sqlite:<path>` (relative to cwd; `sqlite::memory:` for tests) or
 * `postgres://…` / `postgresql://…`. Only the chosen backend's driver is loaded. Call `migrate()` next.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const lateMs = checkInteger('lateMs', options.lateMs ?? 120_000);
  let backend: Backend;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw new TypeError('url must name a file after sqlite:, e.g. sqlite:./data/nines.db');
    const { createSqliteBackend } = await import('./sqlite/dialect.js');
    backend = await createSqliteBackend(file);
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (options.schema !== undefined && !IDENTIFIER.test(options.schema)) {
      throw new TypeError(`schema must be a plain SQL identifier, got ${JSON.stringify(options.schema)}`);
    }
    const { createPostgresBackend } = await import('./postgres/dialect.js');
    backend = await createPostgresBackend(url, options.schema, checkInteger('timeoutMs', options.timeoutMs ?? 15_000, 1));
  } else {
    // Only the scheme: the rest may hold a password.
    throw new TypeError(`url must start with sqlite: or postgres://, got ${JSON.stringify(`${url.split(':')[0]}:`)}`);
  }
  return withStoreErrors(new KyselyStore(backend, { lateMs }));
}

/** The store's database failed an operation (unreachable, timed out, disk full); `cause` is the driver's error. */
export class StoreError extends Error {
  constructor(cause: unknown) {
    // driver messages may quote a connection URL: no password past this point
    super(`store: ${redactText(cause instanceof Error ? cause.message : String(cause))}`, { cause });
    this.name = 'StoreError';
  }
}

/** `store` with every failure as a {@link StoreError}, so the service can answer 503, not 500. */
function withStoreErrors(store: Store): Store {
  const wrap =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      method.apply(store, args).catch((error: unknown) => {
        throw error instanceof StoreError ? error : new StoreError(error);
      });
  return {
    migrate: wrap(store.migrate),
    write: wrap(store.write),
    states: wrap(store.states),
    timeline: wrap(store.timeline),
    checks: wrap(store.checks),
    incidents: wrap(store.incidents),
    checkStats: wrap(store.checkStats),
    checkSeries: wrap(store.checkSeries),
    compact: wrap(store.compact),
    size: wrap(store.size),
    close: wrap(store.close),
  };
}
