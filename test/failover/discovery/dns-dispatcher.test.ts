import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { dnsDiscovery, FailoverDispatcher } from '../../../src/failover/index.js';
import { startDnsServer } from '../../support/dns-server.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstream(name: string, host: string, port: number): Promise<number> {
  const server: Server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

it('a DNS-discovered tier serves requests and follows a change of the A record', async () => {
  // two upstreams on one port, told apart by address (all of 127/8 is loopback on Linux)
  const port = await upstream('one', '127.0.0.1', 0);
  await upstream('two', '127.0.0.2', port);
  const dns = await startDnsServer();
  cleanups.push(() => dns.close());
  dns.records.set('api.test', { a: ['127.0.0.1'], ttl: 3600 });
  const clock = new ManualClock();
  const d = new FailoverDispatcher({
    tiers: [{ discovery: dnsDiscovery({ hostname: 'api.test', port, family: 4, resolver: { servers: [dns.address] }, clock }) }],
    retry: false,
    outlier: false,
  });
  cleanups.push(() => d.close());
  await d.ready();
  const get = async () => (await request('http://api/', { dispatcher: d })).body.text();
  expect(await get()).toBe('one');

  dns.records.set('api.test', { a: ['127.0.0.2'], ttl: 3600 });
  const queries = dns.queries.length;
  await clock.advance(30_000);
  while (dns.queries.length === queries || clock.pendingTimers === 0) await new Promise((r) => setImmediate(r));
  expect(await get()).toBe('two');
  expect(await get()).toBe('two');
});
