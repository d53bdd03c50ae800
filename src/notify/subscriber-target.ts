import { createHash, randomBytes } from 'node:crypto';
import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { lookup as lookupAll } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { Agent } from 'undici';

/** A random token for a link: 256 bits, URL-safe. Only its {@link tokenHash} is stored. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** SHA-256 hex of a token: what the store keeps and looks up. */
export const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** An address as the API may show it: `a***@example.com`, `https://hooks.example.com/***`. */
export function maskAddress(kind: 'email' | 'webhook', address: string): string {
  if (kind === 'email') {
    const at = address.lastIndexOf('@');
    return `${address.slice(0, Math.min(1, at))}***${address.slice(at)}`;
  }
  return URL.canParse(address) ? `${new URL(address).origin}/***` : '***';
}

/** Loopback, private, link-local, shared, documentation, multicast, reserved, and the IPv6 forms that embed an IPv4 address (two lists: a BlockList matches IPv4 against IPv6 rules too). */
const INTERNAL_V4 = new BlockList();
const INTERNAL_V6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const)
  INTERNAL_V4.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127], // :: and ::1
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], // NAT64
  ['100::', 64],
  ['2001::', 32], // Teredo
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  INTERNAL_V6.addSubnet(net, prefix, 'ipv6');

/** Whether `address` (an IP address) is one a visitor must not make nines post to; anything that is not an address is. */
export function isInternal(address: string): boolean {
  const family = isIP(address);
  return family === 0 || (family === 4 ? INTERNAL_V4.check(address, 'ipv4') : INTERNAL_V6.check(address, 'ipv6'));
}

/** What is wrong with `url` as a webhook subscriber's, or undefined; never quotes it (it is the subscriber's address). */
export async function webhookProblem(url: string, allowPrivate: boolean): Promise<string | undefined> {
  if (url.length > 2000 || !/^https?:\/\//i.test(url) || !URL.canParse(url)) return 'must be an http or https URL';
  if (allowPrivate) return undefined;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return isInternal(host) ? 'must not point to a loopback, private or other internal address' : undefined;
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point to a loopback, private or other internal address';
  const addresses = await lookupAll(host, { all: true }).catch(() => []);
  if (addresses.length === 0) return 'its host name does not resolve';
  return addresses.every((a) => isInternal(a.address)) ? 'must not point to a loopback, private or other internal address' : undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup, keeping only public addresses: checked when the connection is made, so a name that changes its answer (DNS rebinding) cannot reach inside. */
function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const allowed = addresses.filter((a) => !isInternal(a.address));
    const [first] = allowed;
    if (first === undefined) {
      const refused = Object.assign(new Error('the host resolves only to internal addresses'), { code: 'ENOTFOUND' });
      return callback(refused, []);
    }
    if (options.all) callback(null, allowed);
    else callback(null, first.address, first.family);
  });
}

/** An undici dispatcher for subscribers' webhooks: public addresses only, unless `allowPrivate`. */
export function subscriberDispatcher(allowPrivate: boolean): Agent {
  return new Agent(allowPrivate ? {} : { connect: { lookup: publicLookup as never } });
}
