import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';
import { checkInteger } from '../../core/validate.js';

/** Which proxies' `X-Forwarded-For` entries to believe: none (default), a number of hops, or addresses and CIDRs (proxy-addr's). */
export type TrustProxy = false | true | number | string | readonly string[];

/** Options of {@link clientKey}. */
export interface ClientKeyOptions {
  trustProxy?: TrustProxy;
  /** IPv6 clients are grouped by this prefix (a home or a small site gets a /56 or a /48). Default 56. */
  ipv6Prefix?: number;
}

/** proxy-addr's trust function for `trust` (compiled once per limiter, not per request). */
function trustOf(trust: TrustProxy): (addr: string, i: number) => boolean {
  if (trust === false) return () => false;
  if (trust === true) return () => true;
  if (typeof trust === 'number') return (_addr, i) => i < trust;
  return proxyaddr.compile(typeof trust === 'string' ? trust.split(',').map((s) => s.trim()) : [...trust]);
}

/**
 * The key of the client behind `request`: its address, read through the proxies `trustProxy`
 * names (Express' rules, by proxy-addr), IPv4 as is, IPv4-mapped IPv6 as IPv4, and IPv6 grouped
 * by `ipv6Prefix` (one client holds a whole /64 or more, so limiting single IPv6 addresses limits
 * nothing). Undefined when the socket has no address (it closed).
 */
export function clientKeyer(options: ClientKeyOptions = {}): (request: IncomingMessage) => string | undefined {
  const trust = trustOf(options.trustProxy ?? false);
  const prefix = checkInteger('ipv6Prefix', options.ipv6Prefix ?? 56, 1, 128);
  return (request) => {
    if (request.socket.remoteAddress === undefined) return undefined;
    const address = proxyaddr(request, trust);
    if (!ipaddr.isValid(address)) return address;
    const parsed = ipaddr.process(address); // IPv4-mapped IPv6 becomes IPv4
    if (parsed.kind() === 'ipv4') return parsed.toString();
    const bytes = parsed.toByteArray();
    for (let bit = prefix; bit < 128; bit++) bytes[bit >> 3] = (bytes[bit >> 3] as number) & ~(0x80 >> (bit & 7));
    return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
  };
}
