/**
 * `nines serve`'s own degradation level against real parts: its rule over the history store (a
 * real PostgreSQL store behind a TCP proxy the test cuts), and the operator's level shared by
 * every instance through PostgreSQL.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ManualClock } from '../../src/core/clock.js';
import type { HealthCheckRegistry } from '../../src/health/registry.js';
import type { CheckResult } from '../../src/health/types.js';
import { openStore } from '../../src/monitor/store/open.js';
import { openServedDegradation, type ServedDegradation } from '../../src/server/degradation.js';
import { ServedFlags } from '../../src/server/flags.js';
import { until } from '../support/e2e.js';
import { dropSchema, hasPostgres, pgUrl, uniqueName } from '../support/services.js';
import { tcpProxy } from '../support/tcp-proxy.js';
import { harness, TOKEN } from './harness.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A validated config: `storage` and `degradation` as given. */
function config(storage: string, degradation = '') {
  const parsed = parseConfig(
    `storage: "${storage}"\n${degradation}\ncomponents:\n  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 2 } }\n`,
    { env: {} },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

describe.runIf(await hasPostgres())("nines serve's degradation level on real parts", () => {
  it('the history store cut off moves the level to degraded at the next check, and back to full when it answers; a flag needing full follows', async () => {
    const proxy = await tcpProxy(Number(new URL(pgUrl).port || 5432), new URL(pgUrl).hostname);
    cleanup.push(() => proxy.close());
    const url = new URL(pgUrl);
    url.port = String(proxy.port);
    const schema = uniqueName('deg_store');
    const store = await openStore(url.href, { schema, timeoutMs: 2_000, failFastMs: 100 });
    cleanup.push(() => dropSchema(schema));
    cleanup.push(() => store.close());
    await store.migrate();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const registry = new Registry();
    const opened = await openServedDegradation(config('sqlite::memory:', 'degradation: { interval: 5s }'), { registry, clock, store });
    cleanup.push(() => opened.close());
    const level = opened.degradation.manager;
    const flags = new ServedFlags({ flags: { search: { minLevel: 'full' } }, registry, clock, level: level.current });

    const health = opened.degradation.health as HealthCheckRegistry;
    const results: CheckResult[] = [];
    health.on('result', (r) => results.push(r));
    /** Runs the next check: time moves exactly to when it is due, no further (so its 2 s timeout cannot fire while it talks to PostgreSQL); its result. */
    const nextCheck = async () => {
      const n = results.length;
      await clock.advance(5_000);
      return result(n);
    };
    /** Result `n`, once the registry has armed the run after it (a few microtasks after the result). */
    const result = async (n: number) => {
      const r = await until(`check result ${n}`, async () => results[n]);
      await new Promise((resolve) => setImmediate(resolve));
      return r;
    };

    await result(0);
    expect(level.state()).toMatchObject({ level: 'full', source: 'rules' });
    expect(flags.set.live('search')).toBe(true);

    proxy.set('refuse');
    expect((await nextCheck()).status).toBe('unhealthy');
    expect(level.state()).toMatchObject({
      level: 'degraded',
      reason: 'the history store does not answer',
      rule: 'check:store:unhealthy',
    });
    expect(flags.set.live('search')).toBe(false);

    proxy.set('pass');
    // the store's breaker lets a try through after failFastMs (100 ms, real time): checks until one passes
    await until('a passing check', async () => ((await nextCheck()).status === 'healthy' ? true : undefined));
    expect(level.state()).toMatchObject({ level: 'full', source: 'rules' });
    expect(flags.set.live('search')).toBe(true);
    const audit = await opened.degradation.audit();
    expect(audit.map((c) => [c.from, c.to, c.source, c.rule])).toEqual([
      ['degraded', 'full', 'rules', undefined],
      ['full', 'degraded', 'rules', 'check:store:unhealthy'],
    ]);
  });

  it("the operator's level is every instance's: set on one, heard by the others, kept for one started later, with one audit log", async () => {
    const schema = uniqueName('deg_shared');
    cleanup.push(() => dropSchema(schema));
    const store = await openStore(pgUrl, { schema });
    cleanup.push(() => store.close());
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const shared = config(`${pgUrl}?schema=${schema}`, 'degradation: { rules: [] }'); // the operator's level alone
    const instance = async (): Promise<ServedDegradation> => {
      const opened = await openServedDegradation(shared, { registry: new Registry(), clock, store });
      cleanup.push(() => opened.close());
      return opened.degradation;
    };
    const [a, b] = [await instance(), await instance()];

    await a.set({ level: 'maintenance', reason: 'moving the database', by: 'ada' });
    expect(a.manager.state()).toMatchObject({ level: 'maintenance', source: 'manual', by: 'ada' });
    await until('b hears it', async () => (b.manager.level === 'maintenance' ? true : undefined));
    expect(b.manager.state()).toMatchObject({ reason: 'moving the database', by: 'ada' });

    const c = await instance(); // started while the level is set
    expect(c.manager.state()).toMatchObject({ level: 'maintenance', source: 'manual' });

    await clock.advance(1_000);
    expect(await b.clear('bob')).toBe(true);
    await until('a and c hear it', async () => (a.manager.level === 'full' && c.manager.level === 'full' ? true : undefined));
    expect(await a.clear('bob')).toBe(false);

    const entries = (await c.audit()).map(({ at, by, from, to, reason, source }) => ({ at, by, from, to, reason, source }));
    expect(entries).toEqual([
      { at: clock.now(), by: 'bob', from: 'maintenance', to: 'full', reason: 'no rule matches', source: 'manual' },
      { at: clock.now() - 1_000, by: 'ada', from: 'full', to: 'maintenance', reason: 'moving the database', source: 'manual' },
    ]);

    // an override with an end lapses on every instance, and one started after its end is not held by it
    await a.set({ level: 'degraded', reason: 'INC-7', by: 'ada', until: clock.now() + 60_000 });
    await until('b hears it', async () => (b.manager.level === 'degraded' ? true : undefined));
    await clock.advance(60_000);
    expect([a.manager.level, b.manager.level, c.manager.level]).toEqual(['full', 'full', 'full']);
    expect((await b.audit())[0]).toMatchObject({ source: 'expiry', to: 'full' });
    expect((await instance()).manager.state()).toMatchObject({ level: 'full', source: 'rules' });
  });

  it('the API answers 503, not 500, while the shared table cannot be written, and changes nothing', async () => {
    const schema = uniqueName('deg_down');
    cleanup.push(() => dropSchema(schema));
    const store = await openStore(pgUrl, { schema });
    cleanup.push(() => store.close());
    const opened = await openServedDegradation(config(`${pgUrl}?schema=${schema}`), {
      registry: new Registry(),
      clock: new ManualClock(Date.UTC(2026, 0, 1)),
      store,
    });
    let closed = false;
    cleanup.push(async () => {
      if (!closed) await opened.close();
    });
    const h = await harness({ token: true, degradation: () => opened.degradation });
    cleanup.push(h.close);
    await opened.close(); // the pool ends: every write fails
    closed = true;
    const put = await h.app.inject({
      method: 'PUT',
      url: '/api/degradation',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ level: 'minimal' }),
    });
    expect([put.statusCode, put.json().error]).toEqual([503, 'degradation store unavailable; try again shortly']);
    expect((await h.app.inject('/api/degradation')).json().level).toBe('full');
  });
});
