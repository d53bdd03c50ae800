import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { type ConsulDiscoveryOptions, consulDiscovery, type DiscoveredEndpoint, type Discovery } from '../../../src/failover/index.js';
import { type FakeConsul, startFakeConsul } from '../../support/consul.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Watch {
  updates: (readonly DiscoveredEndpoint[])[];
  errors: Error[];
  clock: ManualClock;
  discovery: Discovery;
  /** Resolves at the next update or error. */
  next(): Promise<void>;
}

async function setup(): Promise<FakeConsul> {
  const fake = await startFakeConsul();
  cleanups.push(() => fake.close());
  return fake;
}

async function watch(fake: FakeConsul, options: Partial<ConsulDiscoveryOptions> = {}): Promise<Watch> {
  const clock = new ManualClock();
  let wake: (() => void) | undefined;
  const w: Watch = {
    updates: [],
    errors: [],
    clock,
    discovery: consulDiscovery({ url: fake.url, service: 'web', clock, random: () => 1, ...options }),
    next: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      }),
  };
  await w.discovery.start(
    (list) => {
      w.updates.push(list);
      wake?.();
    },
    (error) => {
      w.errors.push(error as Error);
      wake?.();
    },
  );
  cleanups.push(() => w.discovery.close());
  return w;
}

const origins = (list: readonly DiscoveredEndpoint[] | undefined) => list?.map((e) => e.origin);

describe('consulDiscovery', () => {
  it('reports the passing instances first, then blocks with the index it was given', async () => {
    const fake = await setup();
    fake.set('web', [
      { nodeAddress: '10.0.0.1', address: '10.1.0.1', port: 8080, weight: 3 },
      { nodeAddress: '10.0.0.2', port: 8081 },
      { nodeAddress: '10.0.0.3', port: 8082, status: 'critical' },
    ]);
    const w = await watch(fake, { dc: 'eu1', tag: undefined });
    expect(w.updates[0]).toEqual([
      { origin: 'http://10.0.0.2:8081', weight: 1, zone: 'eu1' },
      { origin: 'http://10.1.0.1:8080', weight: 3, zone: 'eu1' },
    ]);
    await fake.request(2);
    const q = fake.requests[1]?.query;
    expect(q?.get('passing')).toBe('true');
    expect(q?.get('index')).toBe(String(fake.index));
    expect(q?.get('wait')).toBe('60s');
    expect(q?.get('dc')).toBe('eu1');
    expect(fake.requests[0]?.query.has('index')).toBe(false);
  });

  it('a change wakes the blocked query at once', async () => {
    const fake = await setup();
    fake.set('web', [{ nodeAddress: '10.0.0.1', port: 80 }]);
    const w = await watch(fake);
    await fake.request(2);
    while (fake.held === 0) await new Promise((r) => setImmediate(r));
    const next = w.next();
    fake.set('web', [
      { nodeAddress: '10.0.0.1', port: 80 },
      { nodeAddress: '10.0.0.2', port: 80 },
    ]);
    await next; // no clock advance: the blocking query itself returned
    expect(origins(w.updates[1])).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:80']);
  });

  it('an index that goes backwards starts over from 0 after the rate-limit gap', async () => {
    const fake = await setup();
    fake.set('web', [{ nodeAddress: '10.0.0.1', port: 80 }]);
    fake.index = 50;
    const w = await watch(fake);
    await fake.request(2);
    expect(fake.requests[1]?.query.get('index')).toBe('50');
    while (fake.held === 0) await new Promise((r) => setImmediate(r));
    fake.restore(7);
    // the answer's index 7 < 50 resets to 0; the next query waits the 1 s rate-limit gap on the clock
    while (w.clock.pendingTimers === 0) await new Promise((r) => setImmediate(r));
    expect(fake.requests).toHaveLength(2);
    await w.clock.advance(999);
    expect(fake.requests).toHaveLength(2);
    await w.clock.advance(1);
    await fake.request(4);
    expect(fake.requests[2]?.query.has('index')).toBe(false);
    expect(fake.requests[3]?.query.get('index')).toBe('7');
  });

  it('a 500 keeps the list, reports and backs off 1 s, 2 s, ... ', async () => {
    const fake = await setup();
    fake.set('web', [{ nodeAddress: '10.0.0.1', port: 80 }]);
    const w = await watch(fake, { token: 's3cr3t-token' });
    await fake.request(2);
    while (fake.held === 0) await new Promise((r) => setImmediate(r));
    fake.failWith = 500;
    let next = w.next();
    fake.restore(fake.index); // answers the held query: a 500
    await next;
    expect(w.errors).toHaveLength(1);
    expect(w.errors[0]?.message).toMatch(/answered 500/);
    expect(w.errors[0]?.message).not.toContain('s3cr3t');
    expect(w.updates).toHaveLength(1);
    const before = fake.requests.length;
    await w.clock.advance(999);
    expect(fake.requests.length).toBe(before); // backing off
    next = w.next();
    await w.clock.advance(1);
    await next; // the second failure
    expect(w.errors).toHaveLength(2);
    await w.clock.advance(1_999);
    expect(fake.requests.length).toBe(before + 1);
    fake.failWith = undefined;
    fake.set('web', [{ nodeAddress: '10.0.0.9', port: 80 }]);
    next = w.next();
    await w.clock.advance(1);
    await next;
    expect(origins(w.updates[1])).toEqual(['http://10.0.0.9:80']);
    expect(fake.requests.every((r) => r.token === 's3cr3t-token')).toBe(true);
  });

  it('an unreachable agent is reported without the token', async () => {
    const fake = await setup();
    const url = fake.url;
    await fake.close();
    cleanups.pop();
    const clock = new ManualClock();
    const errors: Error[] = [];
    const d = consulDiscovery({ url, service: 'web', token: 's3cr3t-token', clock, random: () => 1 });
    await d.start(
      () => {},
      (e) => errors.push(e as Error),
    );
    await d.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/ECONNREFUSED/);
    expect(`${errors[0]?.message} ${String(errors[0]?.stack)}`).not.toContain('s3cr3t');
    expect(clock.pendingTimers).toBe(0);
  });

  it('close() aborts the pending long poll', async () => {
    const fake = await setup();
    fake.set('web', [{ nodeAddress: '10.0.0.1', port: 80 }]);
    const w = await watch(fake);
    await fake.request(2);
    while (fake.held === 0) await new Promise((r) => setImmediate(r));
    await w.discovery.close(); // would wait the 60 s wait without the abort (the test's 5 s fails it)
    while (fake.held > 0) await new Promise((r) => setImmediate(r));
    expect(w.errors).toEqual([]);
    expect(w.clock.pendingTimers).toBe(0);
  });

  it('zoneMetaKey reads the zone from the service meta; tag is passed on', async () => {
    const fake = await setup();
    fake.set('web', [
      { nodeAddress: '10.0.0.1', port: 80, tags: ['v2'], meta: { zone: 'eu-1a' } },
      { nodeAddress: '10.0.0.2', port: 80, tags: ['v1'] },
    ]);
    const w = await watch(fake, { tag: 'v2', zoneMetaKey: 'zone', protocol: 'https' });
    expect(w.updates[0]).toEqual([{ origin: 'https://10.0.0.1:80', weight: 1, zone: 'eu-1a' }]);
  });

  it('validates its options', () => {
    expect(() => consulDiscovery({ service: '' })).toThrow(/service/);
    expect(() => consulDiscovery({ service: 'web', waitMs: 700_000 })).toThrow(/waitMs/);
    expect(() => consulDiscovery({ service: 'web', url: 'ftp://x' })).toThrow(/url/);
  });
});
