import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/core/errors.js';
import { type ClientKeyOptions, clientKeyer } from '../../../src/ratelimit/http/client-key.js';

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of servers.splice(0)) await close();
});

/** A loopback server on `host` answering with the key `options` give each request; `ask` sends one with `headers`. */
async function keyed(host: '127.0.0.1' | '::1', options: ClientKeyOptions) {
  const keyOf = clientKeyer(options);
  const server = createServer((req: IncomingMessage, res) => res.end(String(keyOf(req))));
  await new Promise<void>((r) => server.listen(0, host, r));
  servers.push(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  return (headers: Record<string, string> = {}) =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host, port, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
}

describe('clientKeyer', () => {
  it('ignores X-Forwarded-For unless the proxy is trusted', async () => {
    const ask = await keyed('127.0.0.1', {});
    expect(await ask()).toBe('127.0.0.1');
    expect(await ask({ 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1');
  });

  it('reads through trusted proxies only, as Express does', async () => {
    const loopback = await keyed('127.0.0.1', { trustProxy: 'loopback' });
    expect(await loopback({ 'x-forwarded-for': '203.0.113.9' })).toBe('203.0.113.9');
    // a client forging the header gets its own address read, not the forged one: 198.51.100.1 is not trusted
    expect(await loopback({ 'x-forwarded-for': '10.9.9.9, 198.51.100.1' })).toBe('198.51.100.1');
    const twoHops = await keyed('127.0.0.1', { trustProxy: 2 });
    expect(await twoHops({ 'x-forwarded-for': '192.0.2.1, 203.0.113.9, 198.51.100.1' })).toBe('203.0.113.9');
  });

  it('groups IPv6 clients by /56 (or the prefix given), and reads IPv4-mapped addresses as IPv4', async () => {
    const ask = await keyed('127.0.0.1', { trustProxy: 'loopback' });
    expect(await ask({ 'x-forwarded-for': '2001:db8:abcd:12ff:1::1' })).toBe('2001:db8:abcd:1200::/56');
    expect(await ask({ 'x-forwarded-for': '2001:db8:abcd:12aa::7' })).toBe('2001:db8:abcd:1200::/56');
    expect(await ask({ 'x-forwarded-for': '::ffff:203.0.113.9' })).toBe('203.0.113.9');
    const per64 = await keyed('127.0.0.1', { trustProxy: 'loopback', ipv6Prefix: 64 });
    expect(await per64({ 'x-forwarded-for': '2001:db8:abcd:12ff:1::1' })).toBe('2001:db8:abcd:12ff::/64');
    const v6 = await keyed('::1', {});
    expect(await v6()).toBe('::/56');
  });

  it('refuses a prefix outside 1 to 128', () => {
    expect(() => clientKeyer({ ipv6Prefix: 0 })).toThrow(InvalidOptionError);
    expect(() => clientKeyer({ ipv6Prefix: 129 })).toThrow(/ipv6Prefix/);
  });
});
