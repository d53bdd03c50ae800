import { randomUUID } from 'node:crypto';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { InvalidOptionError } from '../../core/errors.js';
import { Events, type Unsubscribe } from '../../core/events.js';
import { withTransaction } from '../../core/pg.js';
import { PgListener } from '../../core/pg-listen.js';
import { checkInteger, checkString } from '../../core/validate.js';
import type { Ownership } from '../ownership.js';
import { type Member, Rendezvous } from './rendezvous.js';
import { haTables, type LeasePool, type LeaseTables } from './tables.js';

/** Options of {@link LeaseManager}. */
export interface LeaseManagerOptions {
  /** A pg `Pool` of its own (`max` at least 2): one client is held for `LISTEN`. */
  pool: LeasePool;
  /** Schema of the two tables (the store's), created if missing. Default `public`. */
  schema?: string;
  /** This instance's name, unique among the live ones. */
  instance: string;
  /** Where this instance probes from (a region, a zone); kept in its row for the quorum to come. */
  location: string;
  /** The components to share out; replace them with {@link LeaseManager.setComponents} on reload. */
  components: Iterable<string>;
  /** ms between heartbeats. Default 2,000. */
  heartbeat?: number;
  /** ms a lease and an instance row live past the renewal that wrote them, on PostgreSQL's clock. Default 10,000. */
  leaseTtl?: number;
  /** ms after the start of the last good renewal at which this instance stops owning anything; below `leaseTtl`. Default 7,000. */
  renewDeadline?: number;
  /** Schedules the heartbeats and retries. Default {@link systemClock}. */
  clock?: Clock;
  /** A monotonic ms reading for the renew deadline. Default `performance.now`, or `clock.now` when a clock is given. */
  monotonic?: () => number;
  /** ms before listening again after the connection was lost (doubling up to 30 s). Default 500. */
  reconnectDelay?: number;
  /**
   * Called after components stopped being owned here and before their leases are released (a move,
   * or stop()): the place to write their last results, so the next owner reads them. Its failure is
   * reported as `error` and the release goes ahead.
   */
  beforeRelease?: (components: readonly string[]) => Promise<void>;
}

/** A lease this instance gained (claimed or re-gained after a missed deadline). */
export interface LeaseGained {
  component: string;
  fence: number;
}

/** A lease this instance no longer holds, and why. */
export interface LeaseLost {
  component: string;
  /** `moved`: another instance should own it now; `taken`: a renewal found it gone; `deadline`: no renewal within renewDeadline; `stopped`. */
  reason: 'moved' | 'taken' | 'deadline' | 'stopped';
}

/** Events of a {@link LeaseManager}. */
export interface LeaseEvents {
  gained: LeaseGained;
  lost: LeaseLost;
  /** {@link LeaseManager.ready} changed. */
  ready: boolean;
  /** A heartbeat, the listening connection or a release failed (the next heartbeat tries again). */
  error: Error;
  /** A heartbeat finished; `live` is the instances it saw. For tests and metrics. */
  heartbeat: { live: readonly string[]; owned: number };
}

/**
 * This instance's share of the components, held as leases in PostgreSQL. Every heartbeat upserts
 * the instance's row, reads the live instances, computes each component's owner by rendezvous
 * hashing, renews the leases it holds and should keep, claims free or expired ones it should own
 * (a takeover increments the component's fence), and releases the rest at once. Lease times are
 * PostgreSQL's `now()`, never this process's clock; only the renew deadline is measured here, on a
 * monotonic reading, so a stalled or partitioned instance stops owning before its leases expire.
 * Joins, leaves and releases are announced with `NOTIFY`, and peers heartbeat at once.
 */
export class LeaseManager implements Ownership {
  readonly instance: string;
  readonly location: string;
  readonly #pool: LeasePool;
  readonly #tables: LeaseTables;
  readonly #heartbeatMs: number;
  readonly #ttlMs: number;
  readonly #deadlineMs: number;
  readonly #clock: Clock;
  readonly #mono: () => number;
  readonly #listener: PgListener;
  /**
   * This process's mark on its leases, from PostgreSQL's clock at start (so a later process's sorts
   * after): a restart under the same name takes them over under new fences.
   */
  #holder = '';
  readonly #beforeRelease: ((components: readonly string[]) => Promise<void>) | undefined;
  readonly #events = new Events<LeaseEvents>();
  readonly #rendezvous = new Rendezvous();
  #components: string[];
  #held = new Map<string, number>();
  #renewedAt: number | undefined;
  #ready = false;
  #timer: TimerHandle | undefined;
  #deadline: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #announce = true;
  #stopped = false;

  /** Validates `options`; nothing is read or written until {@link LeaseManager.start}. */
  constructor(options: LeaseManagerOptions) {
    if (typeof options?.pool?.connect !== 'function') throw new InvalidOptionError('pool must be a pg.Pool');
    this.instance = checkString('instance', options.instance);
    this.location = checkString('location', options.location);
    this.#heartbeatMs = checkInteger('heartbeat', options.heartbeat ?? 2_000, 1);
    this.#ttlMs = checkInteger('leaseTtl', options.leaseTtl ?? 10_000, 1);
    this.#deadlineMs = checkInteger('renewDeadline', options.renewDeadline ?? 7_000, 1);
    if (this.#deadlineMs >= this.#ttlMs)
      throw new InvalidOptionError(
        `renewDeadline must be below leaseTtl (an instance must stop before its lease can be taken), got ${this.#deadlineMs} >= ${this.#ttlMs}`,
      );
    if (this.#heartbeatMs >= this.#deadlineMs)
      throw new InvalidOptionError(
        `heartbeat must be below renewDeadline (or every instance misses its deadline between two heartbeats), got ${this.#heartbeatMs} >= ${this.#deadlineMs}`,
      );
    this.#tables = haTables(options.schema ?? 'public');
    this.#pool = options.pool;
    this.#components = componentList(options.components);
    this.#clock = options.clock ?? systemClock;
    const clock = this.#clock;
    this.#mono = options.monotonic ?? (options.clock === undefined ? () => performance.now() : () => clock.now());
    this.#listener = new PgListener({
      pool: this.#pool,
      channel: this.#tables.channel,
      clock,
      reconnectDelay: checkInteger('reconnectDelay', options.reconnectDelay ?? 500, 1),
      onNotify: (payload) => {
        if (payload !== this.instance) this.#soon();
      },
      onError: (error) => this.#events.emit('error', error),
      // a peer may have moved while nobody listened
      onRelisten: () => {
        if (this.#renewedAt !== undefined) this.#soon();
      },
    });
    this.#beforeRelease = options.beforeRelease;
  }

  /** Subscribes to `gained`, `lost`, `ready`, `error` or `heartbeat`. */
  on<K extends keyof LeaseEvents>(event: K, listener: (e: LeaseEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /** Creates the tables if missing, listens for peers and runs the first heartbeat; heartbeats then follow on the clock. */
  async start(): Promise<void> {
    await this.#pool.query(this.#tables.create);
    const { rows } = await this.#pool.query(
      `SELECT lpad((extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text, 20, '0') AS started`,
    );
    this.#holder = `${String(rows[0]?.started)}-${randomUUID().slice(0, 8)}`;
    // without LISTEN the timer still shares the work, only more slowly: it keeps trying
    await this.#listener.start();
    await this.heartbeat();
  }

  /** True while this instance holds `component`'s lease and renewed it less than `renewDeadline` ago. */
  owns(component: string): boolean {
    return this.#held.has(component) && this.#fresh();
  }

  /** The fencing number of `component` while {@link LeaseManager.owns} it; write with it through {@link fenceGuard}. */
  fence(component: string): number | undefined {
    return this.owns(component) ? this.#held.get(component) : undefined;
  }

  /** The components this instance owns now, sorted. */
  owned(): string[] {
    return this.#fresh() ? [...this.#held.keys()].sort() : [];
  }

  /** False before the first renewal and once `renewDeadline` passed without one: the readiness endpoint answers 503. */
  get ready(): boolean {
    return this.#fresh();
  }

  /** Replaces the components (a config reload); a heartbeat follows at once. */
  setComponents(components: Iterable<string>): void {
    this.#components = componentList(components);
    this.#soon();
  }

  /**
   * Runs one heartbeat now (or right after the one running); resolves when it is done. A failure is
   * emitted as `error`, never thrown: the next heartbeat tries again.
   */
  heartbeat(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#timer?.clear();
    const run = this.#beat()
      .catch((error: unknown) => this.#events.emit('error', error as Error))
      .finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        if (this.#again) {
          this.#again = false;
          void this.heartbeat();
          return;
        }
        this.#timer = this.#clock.setTimeout(() => void this.heartbeat(), this.#heartbeatMs);
        this.#timer.unref();
      });
    this.#running = run;
    return run;
  }

  /**
   * Stops heartbeats, then in one transaction deletes this instance's row and releases its leases,
   * and tells the peers, who take them over at once. Call it first on SIGTERM.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of [this.#timer, this.#deadline]) t?.clear();
    await this.#running?.catch(() => undefined);
    const held = [...this.#held.keys()];
    this.#drop('stopped');
    this.#renewedAt = undefined;
    this.#setReady();
    await this.#settle(held);
    const t = this.#tables;
    try {
      await withTransaction(this.#pool, async (client) => {
        await client.query(`DELETE FROM ${t.instances} WHERE instance = $1`, [this.instance]);
        await client.query(`UPDATE ${t.leases} SET owner = NULL, expires_at = now() WHERE owner = $1 AND holder = $2`, [
          this.instance,
          this.#holder,
        ]);
        await client.query('SELECT pg_notify($1, $2)', [t.channel, this.instance]);
      });
    } finally {
      await this.#listener.stop();
    }
  }

  async #beat(): Promise<void> {
    const started = this.#mono();
    const t = this.#tables;
    const ttl = `${this.#ttlMs} milliseconds`;
    const me = this.instance;
    await this.#pool.query(
      `INSERT INTO ${t.instances} (instance, location, expires_at, started_at, components) VALUES ($1, $2, now() + $3::interval, now(), $4)
       ON CONFLICT (instance) DO UPDATE SET location = excluded.location, expires_at = excluded.expires_at, components = excluded.components`,
      [me, this.location, ttl, this.#components],
    );
    const { rows: live } = await this.#pool.query(
      `SELECT instance, components FROM ${t.instances} WHERE expires_at > now() ORDER BY instance`,
    );
    const members: Member[] = live.map((r) => ({
      instance: String(r.instance),
      components: Array.isArray(r.components) ? r.components.map(String) : null,
    }));
    // its row expired between the two statements: it is alive
    if (!members.some((m) => m.instance === me)) members.push({ instance: me, components: this.#components });
    const instances = members.map((m) => m.instance);
    const owners = this.#rendezvous.assign(members);
    const wanted = this.#components.filter((c) => owners.get(c) === me).sort();
    const wantedSet = new Set(wanted);
    // what should move is dropped locally before it is released, so no check runs after the release
    const moving = [...this.#held.keys()].filter((component) => !wantedSet.has(component));
    for (const component of moving) this.#lose(component, 'moved');
    await this.#settle(moving);
    const released = await this.#pool.query(
      `UPDATE ${t.leases} SET owner = NULL, expires_at = now()
       WHERE owner = $1 AND holder = $3 AND NOT (component = ANY($2::text[])) RETURNING component`,
      [me, wanted, this.#holder],
    );
    const renewed = await this.#pool.query(
      `UPDATE ${t.leases} SET expires_at = now() + $3::interval
       WHERE owner = $1 AND holder = $4 AND component = ANY($2::text[]) RETURNING component, fence`,
      [me, wanted, ttl, this.#holder],
    );
    const now = new Map(renewed.rows.map((r) => [String(r.component), Number(r.fence)]));
    const free = wanted.filter((c) => !now.has(c));
    if (free.length > 0) {
      // sorted, so two instances claiming at once lock rows in one order
      const claimed = await this.#pool.query(
        // a lease still held under this name by an earlier process (a restart: its holder sorts
        // first) is taken at once, with the next fence: that process is gone or, stalled, must not
        // write when it wakes; a later process's is never taken back
        `INSERT INTO ${t.leases} AS l (component, owner, holder, fence, expires_at)
           SELECT c, $1, $4, 1, now() + $3::interval FROM unnest($2::text[]) AS c ORDER BY c
         ON CONFLICT (component) DO UPDATE
           SET owner = excluded.owner, holder = excluded.holder, expires_at = excluded.expires_at,
               fence = CASE WHEN l.owner = excluded.owner AND l.holder = excluded.holder THEN l.fence ELSE l.fence + 1 END
           WHERE l.owner IS NULL OR l.expires_at < now()
              OR (l.owner = excluded.owner AND (l.holder IS NULL OR l.holder <= excluded.holder))
         RETURNING component, fence`,
        [me, free, ttl, this.#holder],
      );
      for (const r of claimed.rows) now.set(String(r.component), Number(r.fence));
    }
    if ((released.rowCount ?? 0) > 0 || this.#announce) {
      await this.#pool.query('SELECT pg_notify($1, $2)', [t.channel, me]);
      this.#announce = false;
    }
    if (this.#stopped) return; // stop() releases what this heartbeat renewed
    this.#renewedAt = started;
    this.#armDeadline();
    for (const component of this.#held.keys()) if (!now.has(component)) this.#lose(component, 'taken');
    for (const [component, fence] of now) {
      const before = this.#held.get(component);
      this.#held.set(component, fence);
      if (before !== fence) this.#events.emit('gained', { component, fence });
    }
    this.#setReady();
    // it took past the deadline (a stall that ended): renew again now, not a heartbeat later
    if (!this.#fresh()) this.#again = true;
    this.#events.emit('heartbeat', { live: instances, owned: this.#held.size });
  }

  async #settle(components: readonly string[]): Promise<void> {
    if (components.length === 0 || this.#beforeRelease === undefined) return;
    await this.#beforeRelease(components).catch((error: unknown) => this.#events.emit('error', error as Error));
  }

  #fresh(): boolean {
    return this.#renewedAt !== undefined && this.#mono() - this.#renewedAt < this.#deadlineMs;
  }

  /** At the deadline, drops every lease locally: a renewal that comes later gains them again. */
  #armDeadline(): void {
    this.#deadline?.clear();
    const wait = Math.max(0, (this.#renewedAt ?? 0) + this.#deadlineMs - this.#mono());
    this.#deadline = this.#clock.setTimeout(() => {
      if (this.#fresh()) return;
      this.#drop('deadline');
      this.#setReady();
    }, wait);
    this.#deadline.unref();
  }

  #drop(reason: LeaseLost['reason']): void {
    for (const component of [...this.#held.keys()]) this.#lose(component, reason);
  }

  #lose(component: string, reason: LeaseLost['reason']): void {
    this.#held.delete(component);
    this.#events.emit('lost', { component, reason });
  }

  #setReady(): void {
    const ready = this.#fresh();
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.#events.emit('ready', ready);
  }

  /** A heartbeat as soon as the running one (if any) ends. */
  #soon(): void {
    if (!this.#stopped) void this.heartbeat();
  }
}

function componentList(components: Iterable<string>): string[] {
  const list = [...new Set(components)];
  for (const c of list) checkString('component', c);
  return list;
}
