/**
 * The PostgreSQL store and the monitor when the network to PostgreSQL fails for real: a TCP proxy
 * in front of the real server refuses connections, or swallows every byte (a partition).
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { Monitor } from '../../../src/monitor/monitor.js';
import { openStore } from '../../../src/monitor/store/open.js';
import type { Store, WriteBatch } from '../../../src/monitor/store/types.js';
import { until } from '../../support/e2e.js';
import { hasPostgres, pgUrl, uniqueName } from '../../support/services.js';
import { tcpProxy } from '../../support/tcp-proxy.js';

const pgUp = await hasPostgres();
// the driver deadline a partition meets; long enough that a loaded machine never meets it on a healthy network
const TIMEOUT_MS = 2_000;
const FAIL_FAST_MS = 150;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A store on a fresh schema, reached through a proxy the test controls. */
async function throughProxy() {
  const proxy = await tcpProxy(Number(new URL(pgUrl).port || 5432), new URL(pgUrl).hostname);
  const url = new URL(pgUrl);
  url.port = String(proxy.port);
  const schema = uniqueName('nines_outage');
  const store = await openStore(url.href, { schema, timeoutMs: TIMEOUT_MS, failFastMs: FAIL_FAST_MS });
  cleanup.push(async () => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });
  cleanup.push(() => proxy.close());
  cleanup.push(() => store.close());
  await store.migrate();
  return { proxy, store };
}

const one = (time: number): WriteBatch => ({
  checks: [{ component: 'api', time, durationMs: 1, status: 'healthy' }],
  opened: [],
  resolved: [],
  gaps: [],
  states: [],
});

/** How `promise` settles: what the store decided (its error says which deadline or breaker fired), not how long it took. */
async function settled(promise: Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

async function stored(store: Store): Promise<number[]> {
  return (await store.checks('api', { limit: 1000 })).items.map((c) => c.time).sort((a, b) => a - b);
}

describe.skipIf(!pgUp)('PostgreSQL store behind a failing network (real server, TCP proxy)', () => {
  it('fails a write with the refusal (not at the deadline) when connections are refused, and writes again once they are not', async () => {
    const { proxy, store } = await throughProxy();
    await store.write(one(1));
    proxy.set('refuse');
    const refused = await settled(store.write(one(2)));
    expect(refused.ok).toBe(false);
    expect(refused.error).not.toMatch(/no answer from PostgreSQL|timeout/); // the refusal, not the deadline
    proxy.set('pass');
    await sleep(FAIL_FAST_MS); // the store's breaker lets the next write through
    await store.write(one(3));
    expect(await stored(store)).toEqual([1, 3]);
  });

  it('fails a write within its timeout when the network swallows everything, and recovers after', async () => {
    const { proxy, store } = await throughProxy();
    await store.write(one(1));
    proxy.set('blackhole');
    const swallowed = await settled(store.write(one(2)));
    expect(swallowed.ok).toBe(false);
    expect(swallowed.error).toMatch(new RegExp(`no answer from PostgreSQL within ${TIMEOUT_MS} ms|timeout`));
    // a database known to be failing makes no reader wait: reads fail at once until a write succeeds
    const read = await settled(store.checks('api', { limit: 10 }));
    expect(read).toMatchObject({ ok: false, error: 'store: unavailable after a failure' }); // the breaker, not a query
    await sleep(FAIL_FAST_MS);
    const probe = await settled(store.write(one(2))); // the probe write, still into the partition
    expect(probe.ok).toBe(false);
    expect(probe.error).toMatch(new RegExp(`no answer from PostgreSQL within ${TIMEOUT_MS} ms|timeout`)); // it went out and met the deadline
    const held = await settled(store.write(one(2))); // and the breaker holds the next one back
    expect(held).toMatchObject({ ok: false, error: expect.stringMatching(/^store: unavailable after a failure; next try in 1 s$/) });
    proxy.set('pass');
    await sleep(FAIL_FAST_MS);
    await store.write(one(3));
    expect(await stored(store)).toEqual([1, 3]);
  });

  it('keeps a monitor checking through a partition and writes everything once it heals', async () => {
    const { proxy, store } = await throughProxy();
    const parsed = parseConfig(
      'components:\n  - { name: api, interval: 50ms, timeout: 40ms, degradedAfter: 30ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }\n',
      {
        env: {},
      },
    );
    if (!parsed.ok) throw new Error('config');
    let results = 0;
    const errors: string[] = [];
    const monitor = new Monitor({
      config: parsed.config,
      store,
      flushInterval: 100,
      probe: (c) => async () => {
        results++;
        return { name: c.name, time: Date.now(), durationMs: 1, status: 'healthy' };
      },
      onError: (error) => errors.push((error as Error).message),
    });
    await monitor.start();
    cleanup.push(() => monitor.stop());
    await until('a first stored check', async () => ((await stored(store)).length > 0 ? true : undefined));
    proxy.set('blackhole');
    const before = results;
    // the partition lasts until a flush has failed on it (the driver's deadline) and checks went on meanwhile
    await until('a failed flush and more checks', async () => (errors.length > 0 && results - before > 5 ? true : undefined));
    proxy.set('pass');
    const during = results;
    await until('the checks of the partition written', async () => ((await stored(store)).length >= during ? true : undefined));
    await monitor.stop();
    expect(errors.length).toBeGreaterThan(0); // flushes failed during the partition…
    expect(during - before).toBeGreaterThan(5); // …while checks went on
    expect((await stored(store)).length).toBe(results); // and nothing was lost once it healed
  });
});
