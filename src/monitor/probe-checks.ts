import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { CheckConfig, Condition, ConditionContext } from '../config/index.js';
import { abortable } from '../core/abort.js';
import { type Clock, systemClock } from '../core/clock.js';
import { readable } from '../core/redact.js';
import { localSource } from '../health/checks/http-connector.js';
import { disk, dns, eventLoop, memory, postgres, redis, tcp, tlsCertificate } from '../health/checks/index.js';
import type { HealthCheck } from '../health/types.js';
import { httpObserver } from './probe-http.js';
import { expiryOf, type ProbeReading, type ReadProbe } from './probe-reading.js';

/** Options of {@link observerFor}. */
export interface ObserverOptions {
  /** Local IP address the http, tcp and tlsCertificate checks connect from; the other checks ignore it. */
  sourceAddress?: string;
}

/** Builds the run function of a component's check; a bad option throws a TypeError now, not at run time. */
export function observerFor(
  check: CheckConfig,
  conditions: readonly Condition[],
  clock: Clock = systemClock,
  options: ObserverOptions = {},
): ReadProbe {
  const { sourceAddress } = options;
  switch (check.type) {
    case 'http':
      return httpObserver(check, conditions, clock, sourceAddress);
    case 'tcp':
      return tcpObserver(check.host, check.port, sourceAddress);
    case 'dns':
      return dnsObserver(check.hostname);
    case 'tlsCertificate':
      return tlsObserver(check, clock, sourceAddress);
    case 'postgres':
      return fromHealth(postgres(check.url), () => ({ connected: true }));
    case 'redis':
      return fromHealth(redis(check.url, { connectTimeout: check.connectTimeout }), () => ({ connected: true }));
    case 'disk':
      return fromHealth(disk(check.path, { minFreeBytes: check.minFreeBytes, minFreeRatio: check.minFreeRatio }));
    case 'memory':
      return fromHealth(memory({ maxHeapRatio: check.maxHeapRatio, maxRssBytes: check.maxRssBytes }));
    case 'eventLoop':
      return fromHealth(eventLoop({ maxLagMs: check.maxLagMs }));
  }
}

/** A health check as an observer: its outcome as is, `context` drawn from its details. It throws when the check throws. */
function fromHealth(check: HealthCheck, context: (details: Record<string, unknown>) => ConditionContext = () => ({})): ReadProbe {
  return async (signal) => {
    const outcome = (await check({ signal })) ?? {};
    const details = outcome.details ?? {};
    const observation: ProbeReading = { status: outcome.status ?? 'healthy', details, context: context(details) };
    if (outcome.error !== undefined) observation.error = outcome.error;
    return observation;
  };
}

/** The health `tcp` check, with the address connected to for `[IP]`; a refused connection can be asserted on. */
function tcpObserver(host: string, port: number, localAddress: string | undefined): ReadProbe {
  const check = tcp(host, port, { localAddress });
  return async (signal) => {
    try {
      const ip = (await check({ signal }))?.details?.ip as string | undefined;
      return { status: 'healthy', details: { ip }, context: { connected: true, ip } };
    } catch (error) {
      if (signal.aborted) throw error;
      return { status: 'unhealthy', error: readable(error).message, context: { connected: false }, assertable: true };
    }
  };
}

/** getaddrinfo codes as DNS response codes, so `[DNS_RCODE] == NXDOMAIN` reads as in Gatus; others are kept as is. */
const RCODES: Record<string, string> = { ENOTFOUND: 'NXDOMAIN', ESERVFAIL: 'SERVFAIL', EREFUSED: 'REFUSED', ENODATA: 'NODATA' };

/** The health `dns` check; `[IP]` is the first address, `[DNS_RCODE]` NOERROR or the failure's code (asserted on). */
function dnsObserver(hostname: string): ReadProbe {
  const check = dns(hostname);
  return async (signal) => {
    try {
      const details = (await check({ signal }))?.details ?? {};
      const addresses = Array.isArray(details.addresses) ? (details.addresses as string[]) : [];
      return { status: 'healthy', details, context: { ip: addresses[0], dnsRcode: 'NOERROR' } };
    } catch (error) {
      if (signal.aborted) throw error;
      const code = codeOf(error);
      const dnsRcode = code === undefined ? 'UNKNOWN' : (RCODES[code] ?? code);
      return { status: 'unhealthy', error: readable(error).message, details: { rcode: dnsRcode }, context: { dnsRcode }, assertable: true };
    }
  };
}

type TlsCheck = Extract<CheckConfig, { type: 'tlsCertificate' }>;

/**
 * The health `tlsCertificate` check, pointed at an address resolved first (with the host name kept as
 * SNI) so `[IP]` is the address it really connected to.
 */
function tlsObserver(check: TlsCheck, clock: Clock, localAddress: string | undefined): ReadProbe {
  const { host, type: _, ...config } = check;
  const options = { ...config, localAddress };
  const servername = options.servername ?? (isIP(host) ? undefined : host);
  tlsCertificate(host, { ...options, clock }); // validates the options now
  // resolved to the source's family: only those addresses can be reached from it
  const family = localSource(localAddress).family ?? 0;
  return async (signal) => {
    const ip = isIP(host) ? host : (await abortable(lookup(host, { family }), signal)).address;
    let expiresAt: number | undefined;
    const run = fromHealth(tlsCertificate(ip, { ...options, servername, clock }), (details) => {
      expiresAt = expiryOf(details.validTo);
      return { certificateExpirationMs: expiresAt === undefined ? undefined : expiresAt - clock.now(), connected: true, ip };
    });
    const reading = await run(signal);
    return expiresAt === undefined ? reading : { ...reading, certificateExpiresAt: expiresAt };
  };
}

/** The `code` of an error, or of its cause (a redacted copy keeps the original there). */
function codeOf(error: unknown): string | undefined {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: unknown };
  if (typeof code === 'string') return code;
  return cause === undefined ? undefined : codeOf(cause);
}
