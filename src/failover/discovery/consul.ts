import { request } from 'undici';
import { type Clock, systemClock } from '../../core/clock.js';
import { InvalidOptionError, NinesError } from '../../core/errors.js';
import { checkInteger, checkString } from '../../core/validate.js';
import type { DiscoveredEndpoint, Discovery } from './discovery.js';
import { ChangeFilter, originFor } from './endpoint.js';
import { backoffMs, Sleeper } from './sleep.js';

/** Options of {@link consulDiscovery}. */
export interface ConsulDiscoveryOptions {
  /** Consul's HTTP API; default `'http://127.0.0.1:8500'` (the local agent). */
  url?: string;
  /** Service name in Consul's catalog. */
  service: string;
  /** Only instances with this tag. */
  tag?: string;
  /** Datacenter to ask; default the agent's own. */
  dc?: string;
  /** ACL token, sent as `X-Consul-Token`; never part of an error message. */
  token?: string;
  /** Scheme of the origins; default `'http'`. */
  protocol?: 'http' | 'https';
  /** How long Consul may hold a blocking query, ms; default 60 000 (Consul's default 5 min, max 10 min). */
  waitMs?: number;
  /** `Service.Meta` (then `Node.Meta`) key holding the zone; default none, the zone is `Node.Datacenter`. */
  zoneMetaKey?: string;
  /** Time source of the backoff and rate-limit timers; default the system clock. */
  clock?: Clock;
  /** Randomness in [0, 1) for jitter; default `Math.random`. */
  random?: () => number;
}

interface HealthEntry {
  Node?: { Address?: string; Datacenter?: string; Meta?: Record<string, string> };
  Service?: { Address?: string; Port?: number; Weights?: { Passing?: number }; Meta?: Record<string, string> };
}

const DEFAULT_WAIT_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;
/** A query that returned without news waits this long before the next (Consul's docs: rate-limit the loop). */
const MIN_GAP_MS = 1_000;

/** Endpoints from Consul's health API (`passing` instances only), kept current by blocking queries. */
export function consulDiscovery(options: ConsulDiscoveryOptions): Discovery {
  const service = checkString('service', options.service);
  const base = new URL(options.url ?? 'http://127.0.0.1:8500');
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new InvalidOptionError(`url must be http(s), got ${base.protocol}`);
  const protocol = options.protocol ?? 'http';
  if (protocol !== 'http' && protocol !== 'https')
    throw new InvalidOptionError(`protocol must be 'http' or 'https', got ${String(protocol)}`);
  const waitMs = checkInteger('waitMs', options.waitMs ?? DEFAULT_WAIT_MS, 1_000, 600_000);
  if (options.tag !== undefined) checkString('tag', options.tag);
  if (options.dc !== undefined) checkString('dc', options.dc);
  if (options.token !== undefined) checkString('token', options.token);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const headers: Record<string, string> = options.token === undefined ? {} : { 'x-consul-token': options.token };
  // what error messages may name: no credentials, no query string
  const where = `consul ${base.origin}/v1/health/service/${service}`;

  const sleeper = new Sleeper(clock);
  const abort = new AbortController();
  let started = false;
  let loop: Promise<void> | undefined;

  function endpointOfEntry(e: HealthEntry): DiscoveredEndpoint | undefined {
    const host = e.Service?.Address || e.Node?.Address;
    const port = e.Service?.Port;
    if (host === undefined || host === '' || port === undefined || !(port > 0)) return undefined;
    const passing = e.Service?.Weights?.Passing;
    const d: DiscoveredEndpoint = { origin: originFor(protocol, host, port) };
    if (passing !== undefined && passing > 0) d.weight = passing;
    const key = options.zoneMetaKey;
    const zone = key === undefined ? e.Node?.Datacenter : (e.Service?.Meta?.[key] ?? e.Node?.Meta?.[key]);
    if (zone !== undefined && zone !== '') d.zone = zone;
    return d;
  }

  async function query(index: number): Promise<{ list: DiscoveredEndpoint[]; index: number }> {
    const url = new URL(`/v1/health/service/${encodeURIComponent(service)}`, base);
    url.searchParams.set('passing', 'true');
    if (options.tag !== undefined) url.searchParams.set('tag', options.tag);
    if (options.dc !== undefined) url.searchParams.set('dc', options.dc);
    if (index > 0) {
      url.searchParams.set('index', String(index));
      // jitter so that many clients do not come back at the same moment (Consul adds up to wait/16 itself)
      url.searchParams.set('wait', `${Math.max(1, Math.round((waitMs * (0.9 + 0.1 * random())) / 1_000))}s`);
    }
    const timeout = waitMs + waitMs / 16 + 10_000; // longer than Consul may hold the query
    const res = await request(url, { headers, signal: abort.signal, headersTimeout: timeout, bodyTimeout: timeout });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new NinesError('NINES_HTTP_ERROR', `${where} answered ${res.statusCode}`);
    }
    const body = (await res.body.json()) as unknown;
    if (!Array.isArray(body)) throw new NinesError('NINES_HTTP_ERROR', `${where} answered something other than a JSON array`);
    const list: DiscoveredEndpoint[] = [];
    for (const e of body as HealthEntry[]) {
      const d = endpointOfEntry(e);
      if (d !== undefined) list.push(d);
    }
    return { list, index: Number(res.headers['x-consul-index']) };
  }

  return {
    async start(onUpdate, onError) {
      if (started) throw new InvalidOptionError('consulDiscovery: start() was called twice');
      started = true;
      const filter = new ChangeFilter(onUpdate);
      let index = 0;
      let failures = 0;
      /** One query; returns ms to wait before the next one. */
      const once = async (): Promise<number> => {
        try {
          const answer = await query(index);
          failures = 0;
          filter.update(answer.list);
          const previous = index;
          // Consul's docs: an index that is not > 0 or that went backwards starts over from 0
          index = Number.isInteger(answer.index) && answer.index >= 1 && answer.index >= previous ? answer.index : 0;
          return index > previous ? 0 : MIN_GAP_MS; // no news (or a reset): rate-limit
        } catch (error) {
          if (abort.signal.aborted) return 0;
          failures++;
          onError?.(
            error instanceof NinesError
              ? error
              : new NinesError('NINES_HTTP_ERROR', `${where} failed: ${describe(error)}`, { cause: error }),
          );
          return backoffMs(failures, MAX_BACKOFF_MS, random); // the last list stays
        }
      };
      const first = await once();
      if (abort.signal.aborted) return;
      loop = (async () => {
        let next = first;
        while (!abort.signal.aborted) {
          if (next > 0 && !(await sleeper.sleep(next))) break;
          next = await once();
        }
      })();
    },
    async close() {
      abort.abort();
      sleeper.cancel();
      await loop;
    },
  };
}

/** An error's code or name only: an error's message could quote a request, and so a header. */
function describe(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown };
  return typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'error';
}
