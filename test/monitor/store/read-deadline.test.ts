/**
 * The first seconds of a partition: API reads do not wait out the driver's 15 s timeout. A read
 * has a deadline of its own (`readTimeoutMs`), after which it fails with a StoreError (the service
 * answers 503) and opens the store's breaker, so the reads after it fail at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/monitor/store/open.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../../support/services.js';
import { tcpProxy } from '../../support/tcp-proxy.js';

const pgUp = await hasPostgres();
const READ_TIMEOUT_MS = 300;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** What a settled read decided, by its error's name and message (never how long it took). */
async function settled(promise: Promise<unknown>): Promise<{ ok: boolean; name?: string; error?: string }> {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, name: (error as Error).name, error: (error as Error).message };
  }
}

describe.skipIf(!pgUp)('PostgreSQL store reads behind a partition (real server, TCP proxy that swallows every byte)', () => {
  it('fails a read at its own deadline with a StoreError, not the driver timeout, and opens the breaker for the reads after it', async () => {
    const proxy = await tcpProxy(Number(new URL(pgUrl).port || 5432), new URL(pgUrl).hostname);
    const url = new URL(pgUrl);
    url.port = String(proxy.port);
    const schema = uniqueName('nines_read_deadline');
    // the driver would wait 15 s (its default) for an answer; the read waits READ_TIMEOUT_MS
    const store = await openStore(url.href, { schema, readTimeoutMs: READ_TIMEOUT_MS, failFastMs: 60_000 });
    cleanup.push(() => dropSchema(schema));
    cleanup.push(() => proxy.close());
    cleanup.push(() => store.close().catch(() => undefined));
    cleanup.push(async () => proxy.set('refuse')); // first: resets the swallowed connections, so close() need not wait them out
    await store.migrate();
    await store.write({
      checks: [{ component: 'api', time: 1, durationMs: 1, status: 'healthy' }],
      opened: [],
      resolved: [],
      gaps: [],
      states: [],
    });
    expect((await store.checks('api', { limit: 5 })).items).toHaveLength(1);

    proxy.set('blackhole');
    const read = await settled(store.timeline('api', 0, 10));
    expect(read.ok).toBe(false);
    expect(read.name).toBe('StoreError'); // the server maps it to 503 with Retry-After
    expect(read.error).toMatch(new RegExp(`${READ_TIMEOUT_MS}`)); // the read's deadline fired, not the driver's 15 s
    // the deadline counts as the outage it signals: the next reads do not go out at all
    expect(await settled(store.checks('api', { limit: 5 }))).toMatchObject({ ok: false, error: 'store: unavailable after a failure' });
    expect(await settled(store.states())).toMatchObject({ ok: false, error: 'store: unavailable after a failure' });
  });

  it('refuses a read timeout that is not a positive integer, naming the option', async () => {
    await expect(openStore('sqlite::memory:', { readTimeoutMs: 0 })).rejects.toThrow(/^readTimeoutMs/);
  });
});
