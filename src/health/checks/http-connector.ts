import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { buildConnector } from 'undici';
import { InvalidOptionError } from '../../core/errors.js';

/** TLS settings of the {@link http} check: a private CA, a client certificate, or trust turned off. */
export type HttpTlsOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'rejectUnauthorized' | 'servername'>;

/** `performance.now()` marks of one connection's phases. */
export interface ConnectMarks {
  start?: number;
  dnsStart?: number;
  dnsEnd?: number;
  connected?: number;
  secured?: number;
}

/**
 * The socket options that make a connection start from `localAddress` (none without it). The
 * family goes with it: only addresses of the source's family can be reached from it.
 */
export function localSource(localAddress: string | undefined): { localAddress?: string; family?: number } {
  if (localAddress === undefined) return {};
  const family = isIP(localAddress);
  if (family === 0) throw new InvalidOptionError(`localAddress must be an IPv4 or IPv6 address, got ${JSON.stringify(localAddress)}`);
  return { localAddress, family };
}

/**
 * An undici connector that opens one fresh socket and marks each phase on `marks`: its own
 * `lookup` times DNS, and the socket's `connect` and `secureConnect` events time TCP and TLS.
 * Cheaper and exact next to diagnostics_channel, whose connect events are process-wide and
 * cannot be tied to one request. With `localAddress`, the socket connects from that local IP.
 */
export function timedConnector(
  marks: ConnectMarks,
  tlsOptions: HttpTlsOptions | undefined,
  signal: AbortSignal,
  localAddress?: string,
): buildConnector.connector {
  const source = localSource(localAddress);
  const lookup: LookupFunction = (hostname, options, callback) => {
    marks.dnsStart = performance.now();
    dnsLookup(hostname, options, (error, address, family) => {
      marks.dnsEnd = performance.now();
      callback(error, address, family);
    });
  };
  return ({ hostname, protocol, port, servername }, callback) => {
    marks.start = performance.now();
    const host = hostname.replace(/^\[(.*)\]$/, '$1'); // URL hostnames keep IPv6 brackets
    const https = protocol === 'https:';
    const socket: Socket = https
      ? tlsConnect({
          ...tlsOptions,
          host,
          port: Number(port) || 443,
          servername: tlsOptions?.servername ?? servername ?? (isIP(host) ? undefined : host),
          ALPNProtocols: ['http/1.1'],
          lookup,
          ...source,
        })
      : netConnect({ host, port: Number(port) || 80, lookup, ...source });
    socket.setNoDelay(true);
    // a connect that never answers (a dropped SYN) would otherwise outlive the check
    const onAbort = () => socket.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    const onError = (error: Error) => {
      signal.removeEventListener('abort', onAbort);
      callback(error, null);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      marks.connected = performance.now();
    });
    socket.once(https ? 'secureConnect' : 'connect', () => {
      if (https) marks.secured = performance.now();
      // from here on the socket is undici's: it closes it after the response (a request with
      // `reset`) or when the check destroys the client
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      callback(null, socket);
    });
  };
}
