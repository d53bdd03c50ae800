/**
 * One result per slot of a component's grid, and writes fenced by the HA leases: a row recorded
 * under a lease since taken over is not stored. On SQLite and PostgreSQL (fences: PostgreSQL only).
 */
import pg from 'pg';
import { afterEach, describe, expect, test } from 'vitest';
import { haTables } from '../../../src/monitor/ha/tables.js';
import { writeSplitting } from '../../../src/monitor/store/split-write.js';
import type { ProbeRecord } from '../../../src/monitor/store/types.js';
import { pgUrl } from '../../support/services.js';
import { backends, batch, useStores } from './backends.js';

const T0 = Date.UTC(2026, 0, 1);
const check = (component: string, time: number, scheduledAt?: number): ProbeRecord => ({
  component,
  time,
  durationMs: 5,
  status: 'healthy',
  scheduledAt,
});
const idle = { openSince: undefined, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };

describe.each(backends)('$name store: one result per slot', (backend) => {
  const it = test.skipIf(backend.skip);
  const stores = useStores(backend);

  it('stores a slot once, counts the second as a duplicate, and never conflicts on checks run on demand', async () => {
    const store = await stores.open();
    expect(await store.write(batch({ checks: [check('web', T0 + 3, T0), check('web', T0 + 1_003, T0 + 1_000)] }))).toEqual({
      duplicates: 0,
      stale: 0,
    });
    // another instance ran the slot T0 too (and a slot of its own), and two checks on demand
    const outcome = await store.write(
      batch({ checks: [check('web', T0 + 9, T0), check('web', T0 + 2_002, T0 + 2_000), check('web', T0 + 50), check('web', T0 + 51)] }),
    );
    expect(outcome).toEqual({ duplicates: 1, stale: 0 });
    const page = await store.checks('web', { limit: 10 });
    expect(page.items.map((c) => c.time).sort()).toEqual([T0 + 3, T0 + 50, T0 + 51, T0 + 1_003, T0 + 2_002]);
    // the same slot of another component is its own
    expect(await store.write(batch({ checks: [check('api', T0 + 4, T0)] }))).toEqual({ duplicates: 0, stale: 0 });
  });

  it('a duplicate of a minute already rolled up is not added to its rollup', async () => {
    const store = await stores.open();
    await store.write(batch({ checks: [check('web', T0 + 3, T0)] }));
    const later = T0 + 10 * 60_000;
    await store.compact(later, 30 * 86_400_000, later);
    const before = await store.checkStats('web', T0, T0 + 60_000);
    expect(before.total).toBe(1);
    expect(await store.write(batch({ checks: [check('web', T0 + 8, T0)] }))).toEqual({ duplicates: 1, stale: 0 });
    expect((await store.checkStats('web', T0, T0 + 60_000)).total).toBe(1);
  });

  test.runIf(backend.name === 'sqlite')('refuses a fenced batch: fences need PostgreSQL', async () => {
    const store = await stores.open();
    await expect(store.write(batch({ checks: [{ ...check('web', T0, T0), fence: 1 }], owner: 'a' }))).rejects.toThrow(
      /fenced writes .* need PostgreSQL/,
    );
  });
});

const pgBackend = backends.find((b) => b.name === 'postgres') as (typeof backends)[number];

describe.skipIf(pgBackend.skip)('postgres store: fenced writes', () => {
  const stores = useStores(pgBackend);
  const admin = new pg.Pool({ connectionString: pgUrl, max: 2 });
  admin.on('error', () => {});
  afterEach(async () => {
    await admin.query('ROLLBACK').catch(() => undefined);
  });

  /** The store's schema (on the search_path of its connections) with the HA tables and `leases`. */
  async function leased(leases: Array<[component: string, owner: string | null, fence: number, ttlMs: number]>) {
    const store = await stores.open();
    const t = haTables(stores.schema() as string);
    await admin.query(t.create);
    for (const [component, owner, fence, ttl] of leases) {
      await admin.query(`INSERT INTO ${t.leases} VALUES ($1, $2, $3, now() + $4::interval)`, [
        component,
        owner,
        fence,
        `${ttl} milliseconds`,
      ]);
    }
    return { store, t };
  }

  test('writes only the rows whose fence is their lease now, held by the writer and unexpired', async () => {
    const { store } = await leased([
      ['web', 'a', 3, 10_000], // held by a under fence 3
      ['api', 'b', 7, 10_000], // taken over by b
      ['db', 'a', 2, -1_000], // a's lease expired
    ]);
    const tracker = { ...idle, failures: 1, failingSince: T0 };
    const outcome = await store.write(
      batch({
        owner: 'a',
        checks: [
          { ...check('web', T0 + 1, T0), fence: 3 },
          { ...check('web', T0 + 2, T0 + 1_000), fence: 2 }, // recorded under an older lease of a
          { ...check('api', T0 + 3, T0), fence: 6 },
          { ...check('db', T0 + 4, T0), fence: 2 },
        ],
        opened: [{ component: 'api', start: T0, error: 'down', fence: 6 }],
        gaps: [{ component: 'web', from: T0 - 5_000, to: T0, fence: 3 }],
        states: [
          { component: 'web', firstCheckAt: T0, lastCheckAt: T0 + 1, tracker: idle, fence: 3 },
          { component: 'api', firstCheckAt: T0, lastCheckAt: T0 + 3, tracker, fence: 6 },
        ],
      }),
    );
    expect(outcome).toEqual({ duplicates: 0, stale: 5 });
    expect((await store.checks('web', { limit: 10 })).items.map((c) => c.time)).toEqual([T0 + 1]);
    expect((await store.checks('api', { limit: 10 })).items).toEqual([]);
    expect((await store.checks('db', { limit: 10 })).items).toEqual([]);
    expect(await store.incidents({ limit: 10 })).toMatchObject({ items: [] });
    expect((await store.timeline('web', T0 - 10_000, T0 + 10_000)).gaps).toEqual([{ from: T0 - 5_000, to: T0 }]);
    expect((await store.states()).map((s) => s.component)).toEqual(['web']);
  });

  test('a write waits for a takeover in progress and then writes nothing under the old fence', async () => {
    const { store, t } = await leased([['web', 'a', 3, 10_000]]);
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      // what a takeover's INSERT ... ON CONFLICT DO UPDATE holds on the lease row until it commits
      await client.query(`SELECT 1 FROM ${t.leases} WHERE component = 'web' FOR UPDATE`);
      const write = store.write(batch({ owner: 'a', checks: [{ ...check('web', T0 + 1, T0), fence: 3 }] }));
      // the write's transaction is waiting for the row lock: no time-based wait, a condition
      for (;;) {
        const { rows } = await admin.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%nines_ha_leases%' AND query LIKE '%FOR SHARE%'",
        );
        if (rows[0].n > 0) break;
        await new Promise((r) => setImmediate(r));
      }
      await client.query(`UPDATE ${t.leases} SET owner = 'b', fence = 4 WHERE component = 'web'`);
      await client.query('COMMIT');
      expect(await write).toEqual({ duplicates: 0, stale: 1 });
      expect((await store.checks('web', { limit: 10 })).items).toEqual([]);
    } finally {
      client.release();
    }
  });

  test('a fenced batch split around a poison row stays fenced in every part', async () => {
    const { store } = await leased([
      ['web', 'a', 3, 10_000],
      ['api', 'b', 4, 10_000],
    ]);
    const outcome = await writeSplitting(
      store,
      batch({
        owner: 'a',
        checks: [
          { ...check('web', T0 + 1, T0), fence: 3 },
          { ...check('web', Number.NaN), fence: 3 }, // no database takes it: the batch is split down to it
          { ...check('api', T0 + 2, T0), fence: 3 }, // api is b's
        ],
        gaps: [{ component: 'api', from: T0 - 5_000, to: T0, fence: 3 }],
      }),
    );
    expect(outcome.rejected.map((r) => r.component)).toEqual(['web']);
    expect(outcome.stale).toBe(2);
    expect((await store.checks('web', { limit: 10 })).items.map((c) => c.time)).toEqual([T0 + 1]);
    expect((await store.checks('api', { limit: 10 })).items).toEqual([]);
    expect((await store.timeline('api', T0 - 10_000, T0 + 10_000)).gaps).toEqual([]);
  });
});
