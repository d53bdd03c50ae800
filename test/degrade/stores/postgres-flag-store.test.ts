import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { InvalidOptionError } from '../../../src/core/errors.js';
import { FlagSet, parseFlag } from '../../../src/degrade/flags/index.js';
import { PostgresFlagStore, type StoredFlagChange, syncFlags } from '../../../src/degrade/stores/postgres/index.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../../support/services.js';

const available = await hasPostgres();

interface Flag {
  enabled: boolean;
}

/** A strict parse, as the flags' schema would be. */
const parse = (name: string, d: unknown): Flag => {
  if (typeof d !== 'object' || d === null || typeof (d as Flag).enabled !== 'boolean') {
    throw new InvalidOptionError(`flags.${name}.enabled: expected a boolean`);
  }
  return { enabled: (d as Flag).enabled };
};

/** The next `event` of `store`. */
function next<K extends 'change' | 'replace' | 'error'>(store: PostgresFlagStore<Flag>, event: K) {
  return new Promise<unknown>((resolve) => {
    const off = store.on(event, (e) => {
      off();
      resolve(e);
    });
  });
}

describe.skipIf(!available)('PostgreSQL flag store', () => {
  const schema = uniqueName('flags');
  const pools: pg.Pool[] = [];
  const stores: PostgresFlagStore<Flag>[] = [];
  const clock = new ManualClock(1_700_000_000_000);
  /** One instance: its own pool, as another process would have. */
  async function instance() {
    const pool = new pg.Pool({ connectionString: pgUrl, max: 3 });
    pool.on('error', () => {}); // a terminated idle client
    pools.push(pool);
    const store = new PostgresFlagStore<Flag>({ pool, schema, parse, clock, reconnectDelay: 100 });
    stores.push(store);
    await store.start();
    return { pool, store };
  }
  let a: Awaited<ReturnType<typeof instance>>;
  let b: Awaited<ReturnType<typeof instance>>;
  beforeAll(async () => {
    [a, b] = await Promise.all([instance(), instance()]); // both create the tables at once
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const p of pools) await p.end();
    await dropSchema(schema);
  });

  it('a change made in one instance reaches the other by NOTIFY, with its audit record', async () => {
    const heard = next(b.store, 'change');
    await a.store.put('checkout', { enabled: true }, { by: 'alice', reason: 'launch' });
    expect(await heard).toEqual({ name: 'checkout', flag: { enabled: true } } satisfies StoredFlagChange<Flag>);
    expect(b.store.flags.get('checkout')).toEqual({ enabled: true });

    const off = next(b.store, 'change');
    await a.store.put('checkout', { enabled: false }, { by: 'bob' });
    await off;
    const log = await b.store.audit({ flag: 'checkout' });
    expect(log.map(({ by, action, before, after, reason, at }) => ({ by, action, before, after, reason, at }))).toEqual([
      { by: 'bob', action: 'put', before: { enabled: true }, after: { enabled: false }, reason: null, at: clock.now() },
      { by: 'alice', action: 'put', before: null, after: { enabled: true }, reason: 'launch', at: clock.now() },
    ]);

    const gone = next(b.store, 'change');
    expect(await a.store.remove('checkout', { by: 'carol' })).toBe(true);
    expect(await gone).toEqual({ name: 'checkout', flag: undefined });
    expect(await a.store.remove('checkout', { by: 'carol' })).toBe(false);
    expect((await a.store.audit({ limit: 1 }))[0]).toMatchObject({ action: 'remove', by: 'carol', after: null });
  });

  it('an invalid definition is refused before anything is written', async () => {
    const before = (await a.store.audit()).length;
    await expect(a.store.put('bad', { enabled: 'yes' }, { by: 'alice' })).rejects.toThrow('flags.bad.enabled: expected a boolean');
    expect((await a.store.audit()).length).toBe(before);
    expect(a.store.flags.has('bad')).toBe(false);
  });

  it('a bad row written behind its back is reported and the last good flag stays in force', async () => {
    const heard = next(b.store, 'change');
    await a.store.put('search', { enabled: true }, { by: 'alice' });
    await heard;
    const error = next(b.store, 'error');
    await a.pool.query(`UPDATE "${schema}".nines_flags SET definition = '{"enabled": 3}' WHERE name = 'search'`);
    await a.pool.query('SELECT pg_notify($1, $2)', [`nines_flags_${schema}`, 'search']);
    expect(String(await error)).toContain('flags.search.enabled');
    expect(b.store.flags.get('search')).toEqual({ enabled: true });
  });

  it('a lost listening connection is re-opened and every flag reloaded, so a change made meanwhile is not missed', async () => {
    const { rows } = await a.pool.query(
      `SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN "nines_flags_${schema}"%' AND pid <> pg_backend_pid()`,
    );
    expect(rows.length).toBe(2); // one per instance
    const lost = next(b.store, 'error');
    await a.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1)', [rows.map((r) => r.pid)]);
    await lost;
    await a.pool.query(`UPDATE "${schema}".nines_flags SET definition = '{"enabled": false}' WHERE name = 'search'`); // no NOTIFY
    const reloaded = next(b.store, 'replace');
    await clock.advance(100); // the reconnect wait
    await reloaded;
    expect(b.store.flags.get('search')).toEqual({ enabled: false });
    const heard = next(b.store, 'change');
    await a.store.put('search', { enabled: true }, { by: 'alice' });
    expect(await heard).toEqual({ name: 'search', flag: { enabled: true } });
  });

  it('syncFlags keeps a FlagSet equal to the store: nines flags, evaluated in memory, changed from another instance', async () => {
    const [one, two] = [0, 1].map(() => new pg.Pool({ connectionString: pgUrl, max: 3 })) as [pg.Pool, pg.Pool];
    pools.push(one, two); // each store holds one client of its pool for LISTEN
    const store = new PostgresFlagStore({ pool: one, schema: `${schema}_sync`, parse: parseFlag, clock });
    const writer = new PostgresFlagStore({ pool: two, schema: `${schema}_sync`, parse: parseFlag, clock });
    const set = new FlagSet();
    try {
      await store.start();
      await writer.start();
      syncFlags(store, set);
      const heard = new Promise((resolve) => set.on('change', resolve));
      await writer.put('beta', { enabled: true, rules: [{ rollout: 100 }] }, { by: 'alice' });
      await heard;
      expect(set.isEnabled('beta', { userId: 'u1' })).toBe(true);
      await expect(writer.put('beta', { enabled: 'sure' }, { by: 'alice' })).rejects.toThrow(/beta/);
      const removed = new Promise((resolve) => set.on('change', resolve));
      await writer.remove('beta', { by: 'alice' });
      await removed;
      expect(set.isEnabled('beta', { userId: 'u1' })).toBe(false);
    } finally {
      await store.close();
      await writer.close();
      await dropSchema(`${schema}_sync`);
    }
  });

  it('bad options are refused', () => {
    expect(() => new PostgresFlagStore({ pool: {} as pg.Pool, parse })).toThrow(/pool/);
    expect(() => new PostgresFlagStore({ pool: a.pool, parse, schema: 'Bad-Name' })).toThrow(/schema/);
  });
});
