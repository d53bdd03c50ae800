import type { Clock, TimerHandle } from './clock.js';
import type { PgClient, PgPool } from './pg.js';

/** Options of {@link PgListener}. */
export interface PgListenerOptions {
  /** Where the listening client comes from; it is held until {@link PgListener.stop}. */
  pool: PgPool;
  /** The channel, a plain identifier (it is quoted, never escaped). */
  channel: string;
  /** Each notification's payload ('' when there is none). */
  onNotify: (payload: string) => void;
  /** The connection or the LISTEN failed; another try follows after a backoff. */
  onError: (error: Error) => void;
  /** Listening again after a loss: notifications sent meanwhile were missed, so catch up. */
  onRelisten?: () => void;
  clock: Clock;
  /** ms before the first retry (doubling up to 30 s). */
  reconnectDelay: number;
}

/**
 * One pooled client held for `LISTEN` on one channel, opened again with backoff when it is lost.
 * PostgreSQL delivers nothing to a session that is not listening, so a reconnect calls `onRelisten`.
 */
export class PgListener {
  readonly #o: PgListenerOptions;
  #client: PgClient | undefined;
  #retry: TimerHandle | undefined;
  #delay: number;
  #stopped = false;

  constructor(options: PgListenerOptions) {
    this.#o = options;
    this.#delay = options.reconnectDelay;
  }

  /** Listens; a failure is reported through `onError` and retried, never thrown. */
  async start(): Promise<void> {
    await this.#listen(false).catch((error: unknown) => {
      this.#o.onError(error as Error);
      this.#again();
    });
  }

  /** Stops retrying, UNLISTENs and gives the client back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#retry?.clear();
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await client.query(`UNLISTEN "${this.#o.channel}"`).catch(() => undefined);
    client.release();
  }

  async #listen(again: boolean): Promise<void> {
    const client = await this.#o.pool.connect();
    client.on('notification', (n) => {
      if (n.channel === this.#o.channel) this.#o.onNotify(n.payload ?? '');
    });
    client.on('error', (error) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.release(error);
      this.#o.onError(error);
      this.#again();
    });
    try {
      await client.query(`LISTEN "${this.#o.channel}"`);
    } catch (error) {
      client.release(true);
      throw error;
    }
    if (this.#stopped) {
      client.release();
      return;
    }
    this.#client = client;
    this.#delay = this.#o.reconnectDelay;
    if (again) this.#o.onRelisten?.();
  }

  #again(): void {
    if (this.#stopped) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, 30_000);
    this.#retry = this.#o.clock.setTimeout(() => {
      this.#listen(true).catch((error: unknown) => {
        this.#o.onError(error as Error);
        this.#again();
      });
    }, delay);
    this.#retry.unref();
  }
}
