import type { Clock } from '../../core/clock.js';
import { InvalidOptionError, NinesError } from '../../core/errors.js';
import { redactText } from '../../core/redact.js';
import { checkInteger } from '../../core/validate.js';
import { BrokenCircuitError } from '../../policy/breaker-errors.js';
import { CircuitBreaker } from '../../policy/circuit-breaker.js';
import { TimeoutPolicy } from '../../policy/timeout.js';
import type { Backend } from './backend.js';
import { KyselyStore } from './kysely-store.js';
import { refusedData } from './refused.js';
import type { Store, SubscriberStore } from './types.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Source of time for `failFastMs` and `readTimeoutMs`; every stored time is an argument. Default `systemClock`. */
  clock?: Clock | undefined;
  /**
   * After a failed operation, reads fail at once and writes wait this long before one is let
   * through to try the database again (a circuit breaker), so no reader waits on a database known
   * to be down. Default 5 000.
   */
  failFastMs?: number | undefined;
  /** PostgreSQL schema for the tables, created if missing and put on every connection's search_path; ignored by SQLite. */
  schema?: string | undefined;
  /** How late a check may be written after its minute ends; compact() folds only minutes older than that. Default 120 000. */
  lateMs?: number | undefined;
  /** PostgreSQL: longest wait for an answer, a connection or a free pooled connection before failing. Default 15 000. */
  timeoutMs?: number | undefined;
  /**
   * Longest a read (an API request, a scrape) waits before failing with a StoreError, which also
   * opens the breaker: a partition is then felt within this, not the driver's `timeoutMs`. Writes
   * keep `timeoutMs`. Default 2 000.
   */
  readTimeoutMs?: number | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Opens the store at `url`: `sqlite:<path>` (relative to cwd; `sqlite::memory:` for tests) or
 * `postgres://…` / `postgresql://…`. Only the chosen backend's driver is loaded. Call `migrate()` next.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const lateMs = checkInteger('lateMs', options.lateMs ?? 120_000);
  const readTimeoutMs = checkInteger('readTimeoutMs', options.readTimeoutMs ?? 2_000, 1);
  let backend: Backend;
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file === '') throw new InvalidOptionError('url must name a file after sqlite:, e.g. sqlite:./data/nines.db');
    const { createSqliteBackend } = await import('./sqlite/dialect.js');
    backend = await createSqliteBackend(file);
  } else if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (options.schema !== undefined && !IDENTIFIER.test(options.schema)) {
      throw new InvalidOptionError(`schema must be a plain SQL identifier, got ${JSON.stringify(options.schema)}`);
    }
    const { createPostgresBackend } = await import('./postgres/dialect.js');
    backend = await createPostgresBackend(url, options.schema, checkInteger('timeoutMs', options.timeoutMs ?? 15_000, 1));
  } else {
    // Only the scheme: the rest may hold a password.
    throw new InvalidOptionError(`url must start with sqlite: or postgres://, got ${JSON.stringify(`${url.split(':')[0]}:`)}`);
  }
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const breaker = new CircuitBreaker({
    name: 'store',
    failureThreshold: 1,
    successThreshold: 1,
    openDuration: checkInteger('failFastMs', options.failFastMs ?? 5_000, 1),
    // the database answered and refused the data: it is up, so readers need not be turned away
    shouldHandle: (outcome) => !outcome.ok && !refusedData(outcome.error),
    ...clock,
  });
  // aggressive: the drivers take no signal, so the read is let go at the deadline (its query ends on its own)
  const deadline = new TimeoutPolicy(readTimeoutMs, { strategy: 'aggressive', ...clock });
  return guarded(new KyselyStore(backend, { lateMs }), breaker, deadline);
}

/** The store's database failed an operation (unreachable, timed out, disk full); `cause` is the driver's error. */
export class StoreError extends NinesError {
  constructor(cause: unknown) {
    // driver messages may quote a connection URL: no password past this point
    super('NINES_STORE_UNAVAILABLE', `store: ${redactText(cause instanceof Error ? cause.message : String(cause))}`, { cause });
  }
}

type Wrap = <A extends unknown[], R>(method: (...args: A) => Promise<R>) => (...args: A) => Promise<R>;

/** The subscriber rows behind the same breaker: lookups are reads, the rest writes. */
function guardedSubscribers(rows: SubscriberStore, write: Wrap, read: Wrap): SubscriberStore {
  const bound = <K extends keyof SubscriberStore>(k: K) => rows[k].bind(rows) as SubscriberStore[K];
  return {
    request: write(bound('request')),
    confirm: write(bound('confirm')),
    addTokens: write(bound('addTokens')),
    unsubscribe: write(bound('unsubscribe')),
    list: read(bound('list')),
    remove: write(bound('remove')),
    claimNotice: write(bound('claimNotice')),
    noticed: read(bound('noticed')),
    prune: write(bound('prune')),
  };
}

/**
 * `store` behind `breaker`, every failure as a {@link StoreError} (so the service answers 503, not
 * 500). Writes (the monitor's flush, every second) are the breaker's probes; reads fail at once
 * unless it is closed, and after `deadline` otherwise.
 */
function guarded(store: Store, breaker: CircuitBreaker, deadline: TimeoutPolicy): Store {
  const failed = (error: unknown) => {
    if (error instanceof BrokenCircuitError) {
      throw new StoreError(`unavailable after a failure; next try in ${Math.ceil((error.retryAfterMs ?? 0) / 1000)} s`);
    }
    throw error instanceof StoreError ? error : new StoreError(error);
  };
  const write: Wrap =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      breaker.execute(() => method.apply(store, args)).catch(failed);
  const read: Wrap = <A extends unknown[], R>(method: (...args: A) => Promise<R>) => {
    // inside the breaker, so a read that hits its deadline counts as the failure it signals
    const through = write((...args: A) => deadline.execute(() => method.apply(store, args)));
    return (...args: A): Promise<R> =>
      breaker.state === 'closed' ? through(...args) : Promise.reject(new StoreError('unavailable after a failure'));
  };
  return {
    capabilities: store.capabilities,
    migrate: write(store.migrate),
    write: write(store.write),
    compact: write(store.compact),
    states: read(store.states),
    timeline: read(store.timeline),
    checks: read(store.checks),
    incidents: read(store.incidents),
    checkStats: read(store.checkStats),
    checkSeries: read(store.checkSeries),
    alerts: read(store.alerts),
    saveAlerts: write(store.saveAlerts),
    addDeadLetter: write(store.addDeadLetter),
    deadLetters: read(store.deadLetters),
    silences: read(store.silences),
    addSilence: write(store.addSilence),
    expireSilence: write(store.expireSilence),
    maintenance: read(store.maintenance),
    putMaintenance: write(store.putMaintenance),
    deleteMaintenance: write(store.deleteMaintenance),
    incident: read(store.incident),
    acknowledgeIncident: write(store.acknowledgeIncident),
    setPostmortem: write(store.setPostmortem),
    addIncidentUpdate: write(store.addIncidentUpdate),
    incidentNotes: read(store.incidentNotes),
    acknowledgedOpen: read(store.acknowledgedOpen),
    subscribers: guardedSubscribers(store.subscribers, write, read),
    size: read(store.size),
    // a write for the breaker (so it probes a database known to be down) with a read's deadline
    ping: write(() => deadline.execute(() => store.ping())),
    close: () => store.close().catch(failed),
  };
}
