/**
 * Several lease managers in one process, each with its own pg Pool (so its own sessions, named by
 * `application_name`), on one schema per test; and SQL over the leases table to check them.
 */
import pg from 'pg';
import type { Clock } from '../../../src/core/clock.js';
import { LeaseManager, type LeaseManagerOptions } from '../../../src/monitor/ha/index.js';
import { Rendezvous } from '../../../src/monitor/ha/rendezvous.js';
import { dropSchema, pgUrl, uniqueName } from '../../support/services.js';

export const components = Array.from({ length: 300 }, (_, i) => `c${String(i).padStart(3, '0')}`);

type Timing = Partial<Pick<LeaseManagerOptions, 'heartbeat' | 'leaseTtl' | 'renewDeadline' | 'location'>>;

/** One test's schema, its instances and an admin connection; `close` stops what is left and drops the schema. */
export class Cluster {
  readonly schema = uniqueName('nines_ha');
  readonly managers = new Map<string, LeaseManager>();
  readonly pools = new Map<string, pg.Pool>();
  readonly admin = new pg.Pool({ connectionString: pgUrl, max: 3 });
  readonly #app = uniqueName('ha');

  constructor() {
    this.admin.on('error', () => {});
  }

  /** The `application_name` of `instance`'s sessions (unique to this test run). */
  appName(instance: string): string {
    return `${this.#app}_${instance}`;
  }

  /** Starts `instance` (its own pool of 3, location `loc-<instance>` unless `timing` names one) on `list`, with `timing` and an optional clock. */
  async start(instance: string, timing: Timing = {}, clock?: Clock, list: readonly string[] = components): Promise<LeaseManager> {
    const pool = new pg.Pool({ connectionString: pgUrl, max: 3, application_name: this.appName(instance) });
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const manager = new LeaseManager({
      pool,
      schema: this.schema,
      instance,
      location: `loc-${instance}`,
      components: list,
      ...timing,
      ...(clock === undefined ? {} : { clock }),
    });
    manager.on('error', () => {}); // terminated sessions, on purpose
    this.pools.set(instance, pool);
    this.managers.set(instance, manager);
    await manager.start();
    return manager;
  }

  /** Owner and fence of every component whose lease is held and unexpired on PostgreSQL's clock. */
  async leases(): Promise<Map<string, { owner: string; fence: number }>> {
    const { rows } = await this.admin.query(
      `SELECT component, owner, fence FROM "${this.schema}".nines_ha_leases WHERE owner IS NOT NULL AND expires_at > clock_timestamp()`,
    );
    return new Map(rows.map((r) => [r.component as string, { owner: r.owner as string, fence: Number(r.fence) }]));
  }

  /** Components held twice in memory (two managers that both answer owns()); must stay empty. */
  doubleOwned(): string[] {
    const seen = new Set<string>();
    const twice: string[] = [];
    for (const m of this.managers.values()) {
      for (const c of m.owned())
        if (seen.has(c)) twice.push(c);
        else seen.add(c);
    }
    return twice;
  }

  /**
   * Resolves once every component is held, in PostgreSQL and in memory, by its owner (balanced rendezvous) among
   * `live`; waits on real I/O with no deadline but the test's own.
   */
  async settled(live: readonly string[], list: readonly string[] = components): Promise<Map<string, { owner: string; fence: number }>> {
    const owners = new Rendezvous().assign(live.map((instance) => ({ instance, components: list })));
    for (;;) {
      const leases = await this.leases();
      const ok = list.every((c) => {
        const owner = owners.get(c);
        return owner !== undefined && leases.get(c)?.owner === owner && this.managers.get(owner)?.owns(c) === true;
      });
      if (ok) return leases;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Ends `instance`'s sessions from outside, as a crash or a cut connection would. */
  async terminate(instance: string, onlyListen = false): Promise<number> {
    const { rows } = await this.admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 ${onlyListen ? `AND query LIKE 'LISTEN%'` : ''}`,
      [this.appName(instance)],
    );
    return rows.length;
  }

  /** True once `instance` has a session that ran LISTEN. */
  async listening(instance: string): Promise<boolean> {
    const { rows } = await this.admin.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, [
      this.appName(instance),
    ]);
    return rows.length > 0;
  }

  /** Stops every manager still running, ends the pools and drops the schema. */
  async close(): Promise<void> {
    for (const m of this.managers.values()) await m.stop().catch(() => undefined);
    for (const p of this.pools.values()) await p.end().catch(() => undefined);
    await this.admin.end();
    await dropSchema(this.schema);
  }
}

/** Count of components per owner. */
export function shares(leases: Map<string, { owner: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { owner } of leases.values()) out[owner] = (out[owner] ?? 0) + 1;
  return out;
}
