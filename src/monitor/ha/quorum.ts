import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { InvalidOptionError } from '../../core/errors.js';
import { PgListener } from '../../core/pg-listen.js';
import { checkInteger, checkString } from '../../core/validate.js';
import type { LocationsVerdict, Vote } from '../ownership.js';
import { haTables, type LeasePool, type LeaseTables } from './tables.js';

/** The quorum's rule: `k` locations, and what fewer answers mean. */
export interface QuorumRule {
  k: number;
  whenInsufficient: 'open' | 'hold';
}

/** Options of {@link Quorum}. */
export interface QuorumOptions extends QuorumRule {
  /** A pg `Pool`; one client is held for `LISTEN`. */
  pool: LeasePool;
  /** Schema of the HA tables (the store's). Default `public`. */
  schema?: string;
  instance: string;
  location: string;
  /** ms the other locations have to answer a round, on PostgreSQL's clock for the votes. */
  confirmTimeout: number;
  /** Probes `component` for another location's round; undefined when this instance does not know it. */
  probe: (component: string) => Promise<Vote> | undefined;
  clock?: Clock;
  /** ms before listening again after the connection was lost (doubling up to 30 s). Default 500. */
  reconnectDelay?: number;
  /** A round, a vote or the listening connection failed; the round goes on with the votes it has. */
  onError: (error: Error) => void;
}

/** Rounds and their votes are kept this long (to explain an incident), then pruned by the instances that ask. */
const KEEP_ROUNDS = '1 day';
const PRUNE_EVERY_MS = 10 * 60_000;

interface Waiter {
  expected: number;
  own: { location: string; failed: boolean };
  resolve: (verdict: LocationsVerdict) => void;
  timer: TimerHandle | undefined;
}

/**
 * Counts a round's votes: a location fails when any of its instances' probes failed. Undefined
 * while the round should wait: not final, fewer than `k` failing, and not every expected location answered.
 */
export function tally(
  votes: ReadonlyArray<{ location: string; failed: boolean }>,
  rule: QuorumRule,
  expected: number,
  final: boolean,
): LocationsVerdict | undefined {
  const answered = new Set(votes.map((v) => v.location));
  const failing = new Set(votes.filter((v) => v.failed).map((v) => v.location));
  if (!final && failing.size < rule.k && answered.size < expected) return undefined;
  const insufficient = answered.size < rule.k;
  const allFailing = failing.size > 0 && failing.size === answered.size;
  const down = failing.size >= rule.k || (insufficient && rule.whenInsufficient === 'open' && allFailing);
  return { down, failing: [...failing].sort(), of: answered.size, insufficient };
}

/**
 * Confirms a component's failure from the other locations (issue #20 §2). The owner inserts a
 * round with its own vote and announces it with `NOTIFY`; every listening instance in another
 * location probes the component at once and inserts its vote, accepted until the round's deadline
 * on PostgreSQL's clock; the owner counts distinct failing locations as votes arrive and decides
 * as soon as `k` failed or every live location answered, or at `confirmTimeout` with what came.
 */
export class Quorum {
  readonly #o: QuorumOptions;
  readonly #tables: LeaseTables;
  readonly #clock: Clock;
  readonly #listener: PgListener;
  readonly #waiting = new Map<string, Waiter>();
  /** Probes in progress for other locations' rounds, one per component. */
  readonly #probing = new Map<string, Promise<Vote>>();
  #prunedAt = Number.NEGATIVE_INFINITY;
  #stopped = false;

  constructor(options: QuorumOptions) {
    if (typeof options?.pool?.connect !== 'function') throw new InvalidOptionError('pool must be a pg.Pool');
    checkString('instance', options.instance);
    checkString('location', options.location);
    checkInteger('k', options.k, 1);
    checkInteger('confirmTimeout', options.confirmTimeout, 1);
    if (options.whenInsufficient !== 'open' && options.whenInsufficient !== 'hold')
      throw new InvalidOptionError(`whenInsufficient must be open or hold, got ${String(options.whenInsufficient)}`);
    this.#o = options;
    this.#tables = haTables(options.schema ?? 'public');
    this.#clock = options.clock ?? systemClock;
    this.#listener = new PgListener({
      pool: options.pool,
      channel: this.#tables.quorumChannel,
      clock: this.#clock,
      reconnectDelay: checkInteger('reconnectDelay', options.reconnectDelay ?? 500, 1),
      onNotify: (payload) => this.#heard(payload),
      onError: (error) => options.onError(error),
    });
  }

  /** The rule the verdicts follow. */
  get rule(): QuorumRule {
    return { k: this.#o.k, whenInsufficient: this.#o.whenInsufficient };
  }

  /** Creates the tables if missing and listens for rounds and votes. */
  async start(): Promise<void> {
    await this.#o.pool.query(this.#tables.create);
    await this.#listener.start();
  }

  /** Stops listening; rounds still waiting are decided at once with the votes they have. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#waiting.keys()].map((id) => this.#settle(id, true)));
    await this.#listener.stop();
  }

  /**
   * Asks every other location to probe `component` now, this instance's own finding being `own`;
   * resolves with the verdict, never rejects (a round the store cannot hold counts this location alone).
   */
  async confirm(component: string, own: Vote, kind: 'open' | 'resolve'): Promise<LocationsVerdict> {
    const { instance, location } = this.#o;
    const self = { location, failed: own.failed };
    if (this.#stopped) return this.#verdict([self]);
    const t = this.#tables;
    let id: string;
    let others: number;
    try {
      const { rows } = await this.#o.pool.query(
        `WITH r AS (
           INSERT INTO ${t.rounds} (component, owner, location, kind, started_at, deadline)
           VALUES ($1, $2, $3, $4, now(), now() + $5::interval) RETURNING id),
         v AS (INSERT INTO ${t.votes} (round, instance, location, failed, error, voted_at) SELECT id, $2, $3, $6, $7, now() FROM r)
         SELECT r.id::text AS id,
           (SELECT count(DISTINCT location) FROM ${t.instances} WHERE expires_at > now() AND location <> $3)::int AS others,
           pg_notify($8, json_build_object('r', r.id::text, 'c', $1::text, 'l', $3::text)::text)
         FROM r`,
        [component, instance, location, kind, `${this.#o.confirmTimeout} milliseconds`, own.failed, own.error ?? null, t.quorumChannel],
      );
      id = String(rows[0]?.id);
      others = Number(rows[0]?.others ?? 0);
    } catch (error) {
      this.#o.onError(error as Error);
      return this.#verdict([self]);
    }
    void this.#prune();
    const verdict = new Promise<LocationsVerdict>((resolve) => {
      this.#waiting.set(id, { expected: others + 1, own: self, resolve, timer: undefined });
    });
    const waiter = this.#waiting.get(id);
    if (waiter !== undefined) {
      waiter.timer = this.#clock.setTimeout(() => void this.#settle(id, true), this.#o.confirmTimeout);
      waiter.timer.unref();
    }
    if (others === 0) void this.#settle(id, true);
    return verdict;
  }

  #verdict(votes: ReadonlyArray<{ location: string; failed: boolean }>): LocationsVerdict {
    return tally(votes, this.rule, votes.length, true) as LocationsVerdict;
  }

  /** Reads the round's votes cast by its deadline and decides, when `final` or when they already suffice. */
  async #settle(id: string, final: boolean): Promise<void> {
    if (!this.#waiting.has(id)) return;
    const t = this.#tables;
    let votes: Array<{ location: string; failed: boolean }> | undefined;
    try {
      const { rows } = await this.#o.pool.query(
        `SELECT v.location, v.failed FROM ${t.votes} v JOIN ${t.rounds} r ON r.id = v.round
         WHERE v.round = $1::bigint AND v.voted_at <= r.deadline`,
        [id],
      );
      votes = rows.map((r) => ({ location: String(r.location), failed: r.failed === true }));
    } catch (error) {
      this.#o.onError(error as Error);
      if (!final) return;
    }
    const waiter = this.#waiting.get(id);
    if (waiter === undefined) return; // another read decided meanwhile
    const verdict = tally(votes ?? [waiter.own], this.rule, waiter.expected, final);
    if (verdict === undefined) return;
    this.#waiting.delete(id);
    waiter.timer?.clear();
    waiter.resolve(verdict);
  }

  #heard(payload: string): void {
    let message: { r?: unknown; c?: unknown; l?: unknown; v?: unknown };
    try {
      message = JSON.parse(payload) as typeof message;
    } catch {
      return; // not ours
    }
    if (typeof message.v === 'string') {
      void this.#settle(message.v, false);
      return;
    }
    const { r, c, l } = message;
    if (typeof r !== 'string' || typeof c !== 'string' || typeof l !== 'string') return;
    if (l === this.#o.location || this.#stopped) return; // one location never confirms itself
    void this.#vote(r, c);
  }

  async #vote(round: string, component: string): Promise<void> {
    let probing = this.#probing.get(component);
    if (probing === undefined) {
      const started = this.#o.probe(component);
      if (started === undefined) return;
      probing = started.finally(() => this.#probing.delete(component));
      this.#probing.set(component, probing);
    }
    try {
      const vote = await probing;
      const t = this.#tables;
      // a vote after the round's deadline is not counted, so it is not kept either
      await this.#o.pool.query(
        `WITH v AS (
           INSERT INTO ${t.votes} (round, instance, location, failed, error, voted_at)
           SELECT id, $2, $3, $4, $5, now() FROM ${t.rounds} WHERE id = $1::bigint AND deadline >= now()
           ON CONFLICT DO NOTHING RETURNING round)
         SELECT pg_notify($6, json_build_object('v', round::text)::text) FROM v`,
        [round, this.#o.instance, this.#o.location, vote.failed, vote.error ?? null, t.quorumChannel],
      );
    } catch (error) {
      this.#o.onError(error as Error);
    }
  }

  async #prune(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#prunedAt < PRUNE_EVERY_MS) return;
    this.#prunedAt = now;
    await this.#o.pool
      .query(`DELETE FROM ${this.#tables.rounds} WHERE started_at < now() - interval '${KEEP_ROUNDS}'`)
      .catch((error: unknown) => this.#o.onError(error as Error));
  }
}
