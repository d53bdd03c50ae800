import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { type DiscoveredEndpoint, type Discovery, type DnsDiscoveryOptions, dnsDiscovery } from '../../../src/failover/index.js';
import { type DnsServer, startDnsServer } from '../../support/dns-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Watch {
  updates: (readonly DiscoveredEndpoint[])[];
  errors: unknown[];
  clock: ManualClock;
  discovery: Discovery;
  /** Advances the clock by `ms` and, when that started a resolution, waits until it is done. */
  tick(ms: number): Promise<void>;
}

async function setup(): Promise<DnsServer> {
  const server = await startDnsServer();
  cleanups.push(() => server.close());
  return server;
}

async function watch(server: DnsServer, options: Partial<DnsDiscoveryOptions>): Promise<Watch> {
  const clock = new ManualClock();
  const w: Watch = {
    updates: [],
    errors: [],
    clock,
    discovery: dnsDiscovery({
      hostname: 'api.test',
      port: 8080,
      resolver: { servers: [server.address], timeoutMs: 2_000, tries: 1 }, // long enough for a busy machine
      clock,
      random: () => 1,
      ...options,
    }),
    tick: async (ms) => {
      await clock.advance(ms);
      // no timer pending: a resolution is in flight (real I/O); it is done when the next refresh is scheduled
      while (clock.pendingTimers === 0) await new Promise((r) => setImmediate(r));
    },
  };
  await w.discovery.start(
    (list) => {
      w.updates.push(list);
    },
    (error) => {
      w.errors.push(error);
    },
  );
  cleanups.push(() => w.discovery.close());
  return w;
}

const origins = (list: readonly DiscoveredEndpoint[] | undefined) => list?.map((e) => e.origin);

describe('dnsDiscovery', () => {
  it('reports the first list, sorted, before start() resolves', async () => {
    const server = await setup();
    server.records.set('api.test', { a: ['10.0.0.2', '10.0.0.1'], aaaa: ['::1'] });
    const w = await watch(server, {});
    expect(origins(w.updates[0])).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://[::1]:8080']);
    expect(w.errors).toEqual([]);
  });

  it('family 4 asks for A only; https origins', async () => {
    const server = await setup();
    server.records.set('api.test', { a: ['10.0.0.1'], aaaa: ['::1'] });
    const w = await watch(server, { family: 4, protocol: 'https' });
    expect(origins(w.updates[0])).toEqual(['https://10.0.0.1:8080']);
    expect(server.queries).toEqual(['A api.test']);
  });

  it('a changed answer is reported at the next refresh; the same answer is not', async () => {
    const server = await setup();
    server.records.set('api.test', { a: ['10.0.0.1'], ttl: 3600 });
    const w = await watch(server, { family: 4, intervalMs: 5_000 });
    await w.tick(5_000); // same answer
    expect(server.queries).toHaveLength(2);
    expect(w.updates).toHaveLength(1);
    server.records.set('api.test', { a: ['10.0.0.1', '10.0.0.3'], ttl: 3600 });
    await w.tick(4_999);
    expect(server.queries).toHaveLength(2); // not yet due
    await w.tick(1);
    expect(origins(w.updates[1])).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.3:8080']);
  });

  it('re-resolves at the TTL when it is below the interval, with a 1 s floor', async () => {
    const server = await setup();
    server.records.set('api.test', { a: ['10.0.0.1'], ttl: 2 });
    const w = await watch(server, { family: 4, intervalMs: 30_000 });
    await w.tick(1_999);
    expect(server.queries).toHaveLength(1);
    await w.tick(1);
    expect(server.queries).toHaveLength(2);
    server.records.set('api.test', { a: ['10.0.0.1'], ttl: 0 });
    await w.tick(2_000);
    expect(server.queries).toHaveLength(3);
    await w.tick(999);
    expect(server.queries).toHaveLength(3);
    await w.tick(1);
    expect(server.queries).toHaveLength(4);
  });

  it('SERVFAIL keeps the last list and reports the error; recovery is seen after the backoff', async () => {
    const server = await setup();
    server.records.set('api.test', { a: ['10.0.0.1'], ttl: 3600 });
    const w = await watch(server, { family: 4, intervalMs: 10_000 });
    server.records.set('api.test', 'SERVFAIL');
    await w.tick(10_000);
    expect(w.errors).toHaveLength(1);
    expect((w.errors[0] as { code?: string }).code).toBe('ESERVFAIL');
    expect(w.updates).toHaveLength(1); // never emptied
    server.records.set('api.test', { a: ['10.0.0.9'], ttl: 3600 });
    await w.tick(1_000); // first failure retries after 1 s (random 1: no jitter)
    expect(origins(w.updates[1])).toEqual(['http://10.0.0.9:8080']);
  });

  it('NXDOMAIN and a server that stops answering keep the last list and report', async () => {
    const server = await setup();
    server.records.set('api.test', { a: ['10.0.0.1'], ttl: 3600 });
    const w = await watch(server, { family: 4, intervalMs: 10_000 });
    server.records.set('api.test', 'NXDOMAIN');
    await w.tick(10_000);
    expect((w.errors[0] as { code?: string }).code).toBe('ENOTFOUND');
    server.records.set('api.test', 'silent');
    await w.tick(1_000);
    expect((w.errors[1] as { code?: string }).code).toBe('ETIMEOUT');
    expect(w.updates).toHaveLength(1);
  });

  it('SRV: the lowest priority group, its weights and each target resolved', async () => {
    const server = await setup();
    server.records.set('_http._tcp.api.test', {
      srv: [
        { target: 'a.test', port: 8001, priority: 10, weight: 60 },
        { target: 'b.test', port: 8002, priority: 10, weight: 0 },
        { target: 'backup.test', port: 8003, priority: 20, weight: 100 },
      ],
    });
    server.records.set('a.test', { a: ['10.0.0.1', '10.0.0.2'] });
    server.records.set('b.test', { a: ['10.0.0.3'] });
    server.records.set('backup.test', { a: ['10.0.0.4'] });
    const w = await watch(server, { hostname: '_http._tcp.api.test', srv: true, port: undefined, family: 4 });
    expect(w.updates[0]).toEqual([
      { origin: 'http://10.0.0.1:8001', weight: 60 },
      { origin: 'http://10.0.0.2:8001', weight: 60 },
      { origin: 'http://10.0.0.3:8002', weight: 1 },
    ]);
    expect(server.queries).not.toContain('A backup.test');
  });

  it('a first resolution that fails resolves start() with no list and reports', async () => {
    const server = await setup();
    server.records.set('api.test', 'SERVFAIL');
    const w = await watch(server, { family: 4 });
    expect(w.updates).toEqual([]);
    expect(w.errors).toHaveLength(1);
  });

  it('close() clears the timer and cancels the query in flight', async () => {
    const server = await setup();
    server.records.set('api.test', { a: ['10.0.0.1'] });
    const w = await watch(server, { family: 4, resolver: { servers: [server.address], timeoutMs: 60_000, tries: 1 } });
    expect(w.clock.pendingTimers).toBe(1);
    server.records.set('api.test', 'silent');
    const queries = server.queries.length;
    await w.clock.advance(60_000); // the refresh starts a query nobody answers
    while (server.queries.length === queries) await new Promise((r) => setImmediate(r));
    expect(w.clock.pendingTimers).toBe(0); // the query is in flight
    // close() awaits the query: without Resolver.cancel() it would wait the 60 s query timeout (the test's 5 s fails it)
    await w.discovery.close();
    expect(w.clock.pendingTimers).toBe(0);
    expect(w.errors).toEqual([]); // a cancelled query is not an error
  });

  it('validates its options', () => {
    expect(() => dnsDiscovery({ hostname: 'a.test' })).toThrow(/port is required/);
    expect(() => dnsDiscovery({ hostname: 'a.test', srv: true, port: 1 })).toThrow(/port must not be set/);
    expect(() => dnsDiscovery({ hostname: '', port: 1 })).toThrow(/hostname/);
    expect(() => dnsDiscovery({ hostname: 'a.test', port: 1, intervalMs: 10 })).toThrow(/intervalMs/);
    expect(() => dnsDiscovery({ hostname: 'a.test', port: 1, family: 5 as 4 })).toThrow(/family/);
  });
});
