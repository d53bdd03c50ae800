import type { Dispatcher } from 'undici';
import { InvalidOptionError } from '../../core/errors.js';
import { readable, redactUrl, secretsOf } from '../../core/redact.js';
import { checkString } from '../../core/validate.js';
import type { CheckOutcome, HealthCheck } from '../types.js';
import { type ConnectMarks, type HttpTlsOptions, timedConnector } from './http-connector.js';
import { type ExpectStatus, statusMatcher } from './http-expect.js';
import { BODY_LIMIT, bodyMatcher, withBasicAuth } from './http-shared.js';
import { readText, since } from './util.js';

export type { HttpTlsOptions } from './http-connector.js';
export type { ExpectStatus } from './http-expect.js';

/** Options of {@link http}. */
export interface HttpCheckOptions {
  /** Request method. Default `GET`. */
  method?: string;
  /** Request headers. */
  headers?: Record<string, string>;
  /** Status codes that pass. Default 200. */
  expectStatus?: ExpectStatus;
  /** The body must contain this substring, or match this RegExp (the first 1 MiB is read). */
  expectBody?: string | RegExp;
  /**
   * Send through this undici dispatcher (a proxy, a mock, a shared pool) instead of one fresh
   * connection per run; connections are then the dispatcher's, so only `firstByte` and `total` are timed.
   */
  dispatcher?: Dispatcher;
  /** TLS settings for https URLs (a private CA, a client certificate); ignored with a `dispatcher`. */
  tls?: HttpTlsOptions;
}

/**
 * Requests `url` over a fresh connection (redirects are not followed) and checks its status and body.
 * Details: `statusCode` and `timings` in ms, each a phase: `dns`, `connect`, `tls` (https), `firstByte`
 * (request sent → response headers), `total` (start → body read).
 */
export function http(url: string | URL, options: HttpCheckOptions = {}): HealthCheck {
  const target = parseUrl(url);
  const method = checkString('method', options.method ?? 'GET');
  const headers = withBasicAuth(target, { ...checkHeaders(options.headers) });
  const status = statusMatcher(options.expectStatus ?? 200);
  const body = bodyMatcher(options.expectBody);
  const { dispatcher, tls } = options;
  if (dispatcher !== undefined && typeof (dispatcher as Partial<Dispatcher> | null)?.request !== 'function') {
    throw new InvalidOptionError('dispatcher must be an undici Dispatcher (an Agent, Pool, Client, ProxyAgent or MockAgent)');
  }
  const secrets = secretsOf(target.href);
  const https = target.protocol === 'https:';
  const path = target.pathname + target.search;

  return async ({ signal }) => {
    const { Client } = await import('undici'); // loaded at the first run: importing nines/health stays light
    const marks: ConnectMarks = {};
    const start = performance.now();
    const client = dispatcher ? undefined : new Client(target.origin, { connect: timedConnector(marks, tls, signal) });
    try {
      const response = await (client ?? (dispatcher as Dispatcher)).request({ origin: target.origin, path, method, headers, signal });
      const headersAt = performance.now();
      const text = body ? await readText(response.body, BODY_LIMIT) : await response.body.dump().then(() => '');
      const end = performance.now();
      const timings: Record<string, number> = client ? phases(marks, start, headersAt, https) : { firstByte: since(start, headersAt) };
      timings.total = since(start, end);
      const details = { statusCode: response.statusCode, timings };
      return verdict(details, status.test(response.statusCode) ? undefined : status.explain(response.statusCode), body?.(text));
    } catch (error) {
      throw readable(error, secrets);
    } finally {
      await client?.destroy();
    }
  };
}

function verdict(details: Record<string, unknown>, statusError: string | undefined, bodyError: string | undefined): CheckOutcome {
  const error = statusError ?? bodyError;
  return error === undefined ? { details } : { status: 'unhealthy', error, details };
}

/** Phase durations from the connector's marks; `dns` is 0 when the host is an IP address. */
function phases(marks: ConnectMarks, start: number, headersAt: number, https: boolean): Record<string, number> {
  const connectStart = marks.dnsEnd ?? marks.start ?? start;
  const connected = marks.connected ?? connectStart;
  const ready = marks.secured ?? connected;
  const timings: Record<string, number> = {
    dns: marks.dnsStart !== undefined && marks.dnsEnd !== undefined ? since(marks.dnsStart, marks.dnsEnd) : 0,
    connect: since(connectStart, connected),
  };
  if (https) timings.tls = since(connected, ready);
  timings.firstByte = since(ready, headersAt);
  return timings;
}

function parseUrl(url: string | URL): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw new InvalidOptionError(`url must be an http: or https: URL, got ${JSON.stringify(redactUrl(String(url)))}`);
  }
  return parsed;
}

function checkHeaders(headers: unknown): Record<string, string> | undefined {
  if (headers === undefined) return undefined;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new InvalidOptionError(`headers must be an object of header names to values, got ${headers === null ? 'null' : typeof headers}`);
  }
  return headers as Record<string, string>;
}
