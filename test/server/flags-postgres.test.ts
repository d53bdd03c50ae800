import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { type OpenedFlagStore, openFlagStore } from '../../src/degrade/stores/postgres/open.js';
import { openServedFlags, ServedFlags } from '../../src/server/flags.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';
import { harness, pauseCheckout, TOKEN } from './harness.js';

const auth = { authorization: `Bearer ${TOKEN}` };

describe.runIf(await hasPostgres())('/api/flags on PostgreSQL', () => {
  const schema = uniqueName('serve_flags');
  const opened: OpenedFlagStore[] = [];
  const closes: Array<() => Promise<void>> = [];

  /** An app whose flags live in the shared schema, as `nines serve` on PostgreSQL runs them. */
  async function instance() {
    const store = await openFlagStore(pgUrl, { schema });
    opened.push(store);
    const h = await harness({
      token: true,
      flags: (registry, clock) => new ServedFlags({ flags: {}, registry, clock, store: store.store }),
    });
    closes.push(h.close);
    return h;
  }

  afterAll(async () => {
    for (const close of closes) await close();
    for (const o of opened) await o.close();
    await dropSchema(schema);
    await dropSchema(`${schema}_seed`);
    await dropSchema(`${schema}_open`);
  });

  it('a PUT on one instance is seen by the other, and both audit logs hold it', async () => {
    const [a, b] = [await instance(), await instance()];
    const put = await pauseCheckout(a.app);
    expect(put.statusCode).toBe(200);
    // NOTIFY reaches b on its own time: poll, no deadline but the test's
    const seen = async () => (await b.app.inject('/api/flags')).json().flags as Array<{ name: string; enabled: boolean }>;
    while (!(await seen()).some((f) => f.name === 'checkout')) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await seen()).toEqual([{ name: 'checkout', enabled: false, live: false, minLevel: null, description: 'paused' }]);
    for (const h of [a, b]) {
      const entries = (await h.app.inject({ url: '/api/flags/audit', headers: auth })).json().entries;
      expect(entries).toEqual([
        expect.objectContaining({ by: 'ada', flag: 'checkout', before: null, after: { enabled: false, description: 'paused' } }),
      ]);
    }
    expect((await b.app.inject({ method: 'DELETE', url: '/api/flags/checkout', headers: auth })).statusCode).toBe(200);
    while ((await a.app.inject('/api/flags')).json().flags.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await a.app.inject({ url: '/api/flags/audit', headers: auth })).json().entries[0]).toMatchObject({ by: 'api', after: null });
  });

  it('seeds the store with config flags it lacks, never overwriting a stored one', async () => {
    const store = await openFlagStore(pgUrl, { schema: `${schema}_seed` });
    opened.push(store);
    const served = new ServedFlags({ flags: {}, registry: new Registry(), clock: systemClock, store: store.store });
    await served.reload({ seeded: { enabled: true }, checkout: { enabled: true } });
    expect(served.set.get('seeded')).toEqual({ enabled: true });
    await served.put('checkout', { enabled: false }, 'ada');
    await served.reload({ checkout: { enabled: true } });
    expect(served.set.get('checkout')).toEqual({ enabled: false });
  });

  it('answers 503, not 500, while the flag store is unreachable, and opens one for a PostgreSQL config', async () => {
    const h = await instance();
    await opened.pop()?.close();
    expect((await pauseCheckout(h.app)).statusCode).toBe(503);
    expect((await h.app.inject({ url: '/api/flags/audit', headers: auth })).json()).toEqual({
      error: 'flag store unavailable; try again shortly',
    });

    const before = await openFlagStore(pgUrl, { schema: `${schema}_open` });
    opened.push(before);
    await before.store.put('kept', { enabled: true }, { by: 'ada' });
    const config = { flags: { kept: { enabled: false }, fresh: { enabled: false } }, storage: { kind: 'postgres' as const, url: pgUrl } };
    const served = await openServedFlags(config, { registry: new Registry(), clock: systemClock, schema: `${schema}_open` });
    expect(served.flags.set.get('fresh')).toEqual({ enabled: false });
    expect(served.flags.set.get('kept')).toEqual({ enabled: true }); // stored already: the config does not put it back
    await served.close();
  });
});
