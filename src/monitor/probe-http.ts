import type { TLSSocket } from 'node:tls';
import { type buildConnector, Client } from 'undici';
import type { CheckConfig, Condition, ConditionContext } from '../config/index.js';
import { timedConnector } from '../health/checks/http-connector.js';
import { statusMatcher } from '../health/checks/http-expect.js';
import { secretsOf } from '../health/checks/redact.js';
import { readable, readText, since } from '../health/checks/util.js';
import { msUntil, type Observe, reads } from './probe-observation.js';

type HttpCheck = Extract<CheckConfig, { type: 'http' }>;

/** How much of the body is read for `expectBody` and `[BODY]`. */
const BODY_LIMIT = 1024 * 1024;

/** What the connector saw of the one connection a run opens. */
interface Seen {
  ip?: string;
  certificateExpirationMs?: number;
}

/**
 * The `http` check of the monitor: like the health `http` check (one fresh connection per run, no
 * redirects) but it also reports status, body, response time, address and certificate expiry to
 * the conditions. With a `[STATUS]` condition and no `expectStatus`, the conditions judge the status.
 */
export function httpObserver(check: HttpCheck, conditions: readonly Condition[]): Observe {
  const target = new URL(check.url);
  const method = check.method ?? 'GET';
  const headers = basicAuth(target, { ...check.headers });
  const expected = check.expectStatus ?? (reads(conditions, ['STATUS']) ? undefined : 200);
  const status = expected === undefined ? undefined : statusMatcher(expected);
  const { expectBody } = check;
  const wantsBody = expectBody !== undefined || reads(conditions, ['BODY']);
  const secrets = secretsOf(target.href);
  const path = target.pathname + target.search;

  return async (signal) => {
    const seen: Seen = {};
    const start = performance.now();
    const client = new Client(target.origin, { connect: watching(timedConnector({}, undefined, signal), seen) });
    try {
      const response = await client.request({ origin: target.origin, path, method, headers, signal });
      const body = wantsBody ? await readText(response.body, BODY_LIMIT) : await response.body.dump().then(() => undefined);
      const responseTimeMs = since(start);
      const code = response.statusCode;
      const context: ConditionContext = { status: code, responseTimeMs, body, connected: true, ...seen };
      const details = { statusCode: code, responseTimeMs, ...(seen.ip === undefined ? {} : { ip: seen.ip }) };
      const error =
        status && !status.test(code)
          ? status.explain(code)
          : expectBody !== undefined && !body?.includes(expectBody)
            ? `response body does not contain ${JSON.stringify(expectBody.length > 60 ? `${expectBody.slice(0, 60)}…` : expectBody)}`
            : undefined;
      return error === undefined ? { status: 'healthy', details, context } : { status: 'unhealthy', error, details, context };
    } catch (error) {
      if (signal.aborted) throw error;
      // refused or unreachable: `[CONNECTED] == false` can assert on that
      const connected = seen.ip !== undefined;
      return { status: 'unhealthy', error: readable(error, secrets).message, context: { connected, ...seen }, assertable: !connected };
    } finally {
      await client.destroy();
    }
  };
}

/** Wraps `connector` to note the address connected to and, over TLS, when the certificate expires. */
function watching(connector: buildConnector.connector, seen: Seen): buildConnector.connector {
  return (options, callback) =>
    connector(options, (...args: Parameters<buildConnector.Callback>) => {
      const socket = args[1];
      if (socket) {
        seen.ip = socket.remoteAddress;
        if ('getPeerCertificate' in socket) seen.certificateExpirationMs = msUntil((socket as TLSSocket).getPeerCertificate().valid_to);
      }
      callback(...args);
    });
}

/** Credentials in the URL become a Basic authorization header, unless one is set. */
function basicAuth(target: URL, headers: Record<string, string>): Record<string, string> {
  if (target.username && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
    const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return headers;
}
