/**
 * The capability flags each backend declares, and proof on the real PostgreSQL that what it claims
 * works there (advisory locks, LISTEN/NOTIFY, row locks), since the HA monitor will rely on them.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/monitor/store/open.js';
import { hasPostgres, pgUrl } from '../../support/services.js';
import { backends } from './backends.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const expected = {
  sqlite: { concurrentWriters: false, supportsRowLocks: false, supportsListenNotify: false, supportsAdvisoryLocks: false },
  postgres: { concurrentWriters: true, supportsRowLocks: true, supportsListenNotify: true, supportsAdvisoryLocks: true },
} as const;

describe.each(backends)('store capabilities on $name', (backend) => {
  it.skipIf(backend.skip)('are declared by the backend and passed through the guarded store', async () => {
    const location = await backend.create();
    cleanup.push(() => location.dispose());
    const store = await openStore(location.url, location.schema === undefined ? {} : { schema: location.schema });
    cleanup.push(() => store.close());
    expect(store.capabilities).toEqual(expected[backend.name as keyof typeof expected]);
  });
});

describe.skipIf(!(await hasPostgres()))('what PostgreSQL claims', () => {
  it('an advisory lock is held by one session at a time, and LISTEN hears a NOTIFY', async () => {
    const a = new pg.Client({ connectionString: pgUrl });
    const b = new pg.Client({ connectionString: pgUrl });
    await a.connect();
    await b.connect();
    cleanup.push(async () => {
      await a.end();
      await b.end();
    });
    const key = 0x6e696e65; // "nine"
    const lock = async (c: pg.Client) => (await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [key])).rows[0]?.ok;
    expect(await lock(a)).toBe(true);
    expect(await lock(b)).toBe(false);
    await a.query('select pg_advisory_unlock($1)', [key]);
    expect(await lock(b)).toBe(true);
    await b.query('select pg_advisory_unlock($1)', [key]);

    const heard = new Promise<string | undefined>((resolve) => a.once('notification', (n) => resolve(n.payload)));
    await a.query('listen nines_capabilities_test');
    await b.query("select pg_notify('nines_capabilities_test', 'written')");
    expect(await heard).toBe('written');
  });
});
