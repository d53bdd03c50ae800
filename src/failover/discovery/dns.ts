import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { type Clock, systemClock } from '../../core/clock.js';
import { InvalidOptionError } from '../../core/errors.js';
import { checkInteger, checkString } from '../../core/validate.js';
import type { DiscoveredEndpoint, Discovery } from './discovery.js';
import { ChangeFilter, originFor } from './endpoint.js';
import { backoffMs, Sleeper } from './sleep.js';

/** Options of {@link dnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /** Name to resolve: `api.internal` for A/AAAA, `_http._tcp.api.internal` with `srv: true`. */
  hostname: string;
  /** Port of every address; required for A/AAAA, refused with `srv` (SRV records carry it). */
  port?: number;
  /** Scheme of the origins; default `'http'`. */
  protocol?: 'http' | 'https';
  /** Resolve SRV records, then each target's addresses; default false. */
  srv?: boolean;
  /** 4: A only, 6: AAAA only, 0: both; default 0. */
  family?: 0 | 4 | 6;
  /** Longest time between resolutions, ms; default 30 000 (a lower record TTL wins, floor 1 s). */
  intervalMs?: number;
  /** DNS servers (`'10.0.0.2'`, `'127.0.0.1:5353'`) instead of the system's; per-query timeout, ms (default 2 000), and tries (default 2). */
  resolver?: { servers?: string[]; timeoutMs?: number; tries?: number };
  /** Time source of the refresh timer; default the system clock. */
  clock?: Clock;
  /** Randomness in [0, 1) for the failure backoff's jitter; default `Math.random`. */
  random?: () => number;
}

const DEFAULT_INTERVAL_MS = 30_000;
const MIN_INTERVAL_MS = 1_000;
/** Answers that say "no such records" (rather than "could not ask"). */
const EMPTY_ANSWER = new Set(['ENODATA', 'ENOTFOUND']);

interface Answer {
  endpoints: DiscoveredEndpoint[];
  /** Lowest TTL seen, seconds; undefined when the answer carried none (SRV). */
  ttl: number | undefined;
}

/** Endpoints from DNS: A/AAAA records of `hostname` at `port`, or SRV records; re-resolved at min(TTL, interval). */
export function dnsDiscovery(options: DnsDiscoveryOptions): Discovery {
  const hostname = checkString('hostname', options.hostname);
  const srv = options.srv === true;
  const protocol = options.protocol ?? 'http';
  if (protocol !== 'http' && protocol !== 'https')
    throw new InvalidOptionError(`protocol must be 'http' or 'https', got ${String(protocol)}`);
  const family = options.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) throw new InvalidOptionError(`family must be 0, 4 or 6, got ${String(family)}`);
  if (srv && options.port !== undefined) throw new InvalidOptionError('port must not be set with srv: the SRV records carry it');
  if (!srv && options.port === undefined) throw new InvalidOptionError('port is required unless srv is true');
  const port = options.port === undefined ? 0 : checkInteger('port', options.port, 1, 65_535);
  const intervalMs = checkInteger('intervalMs', options.intervalMs ?? DEFAULT_INTERVAL_MS, MIN_INTERVAL_MS);
  const timeoutMs = checkInteger('resolver.timeoutMs', options.resolver?.timeoutMs ?? 2_000, 1);
  const tries = checkInteger('resolver.tries', options.resolver?.tries ?? 2, 1);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries });
  if (options.resolver?.servers !== undefined) resolver.setServers(options.resolver.servers);

  const sleeper = new Sleeper(clock);
  let closed = false;
  let started = false;
  let loop: Promise<void> | undefined;

  async function addresses(name: string, at: number): Promise<Answer> {
    if (isIP(name) !== 0) return { endpoints: [{ origin: originFor(protocol, name, at) }], ttl: undefined };
    const families = family === 0 ? [4, 6] : [family];
    const results = await Promise.allSettled(
      families.map((f) => (f === 4 ? resolver.resolve4(name, { ttl: true }) : resolver.resolve6(name, { ttl: true }))),
    );
    const endpoints: DiscoveredEndpoint[] = [];
    let ttl: number | undefined;
    let empty: unknown;
    for (const r of results) {
      if (r.status === 'rejected') {
        // one family without records is normal (no AAAA); any other failure means we do not know the set
        if (!EMPTY_ANSWER.has((r.reason as { code?: string }).code ?? '')) throw r.reason;
        empty = r.reason;
        continue;
      }
      for (const a of r.value) {
        endpoints.push({ origin: originFor(protocol, a.address, at) });
        ttl = ttl === undefined ? a.ttl : Math.min(ttl, a.ttl);
      }
    }
    if (endpoints.length === 0) throw empty ?? Object.assign(new Error(`dns: ${name} has no addresses`), { code: 'ENODATA' });
    return { endpoints, ttl };
  }

  async function resolve(): Promise<Answer> {
    if (!srv) return addresses(hostname, port);
    const records = await resolver.resolveSrv(hostname);
    // RFC 2782: only the lowest priority group is used while it has records (Envoy ignores priority)
    const lowest = Math.min(...records.map((r) => r.priority));
    const chosen = records.filter((r) => r.priority === lowest);
    const answers = await Promise.all(chosen.map((r) => addresses(r.name, r.port)));
    const endpoints: DiscoveredEndpoint[] = [];
    const seen = new Set<string>();
    let ttl: number | undefined;
    answers.forEach((a, i) => {
      // weight 0 means "rarely" in RFC 2782; a balancer weight must be > 0, so it counts as 1
      const weight = Math.max(1, (chosen[i] as { weight: number }).weight);
      for (const e of a.endpoints) {
        if (seen.has(e.origin)) continue;
        seen.add(e.origin);
        endpoints.push({ origin: e.origin, weight });
      }
      if (a.ttl !== undefined) ttl = ttl === undefined ? a.ttl : Math.min(ttl, a.ttl);
    });
    return { endpoints, ttl };
  }

  return {
    async start(onUpdate, onError) {
      if (started) throw new InvalidOptionError('dnsDiscovery: start() was called twice');
      started = true;
      const filter = new ChangeFilter(onUpdate);
      let failures = 0;
      const once = async (): Promise<number> => {
        try {
          const answer = await resolve();
          if (closed) return 0;
          failures = 0;
          filter.update(answer.endpoints);
          const ttlMs = answer.ttl === undefined ? intervalMs : answer.ttl * 1_000;
          return Math.max(MIN_INTERVAL_MS, Math.min(intervalMs, ttlMs));
        } catch (error) {
          if (closed) return 0; // cancelled by close()
          failures++;
          // the last list stays: a DNS blip or an empty answer never empties the tier
          onError?.(error);
          return Math.min(intervalMs, backoffMs(failures, intervalMs, random));
        }
      };
      const first = await once();
      if (closed) return;
      loop = (async () => {
        let next = first;
        while (!closed && (await sleeper.sleep(next))) next = await once();
      })();
    },
    async close() {
      closed = true;
      sleeper.cancel();
      resolver.cancel(); // in-flight queries reject with ECANCELLED
      await loop;
    },
  };
}
