import type { TLSSocket } from 'node:tls';
import { type buildConnector, Client, type Dispatcher } from 'undici';
import type { CheckConfig, Condition, ConditionContext } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import { readable, secretsOf } from '../core/redact.js';
import { localSource, timedConnector } from '../health/checks/http-connector.js';
import { statusMatcher } from '../health/checks/http-expect.js';
import { BODY_LIMIT, bodyMatcher, withBasicAuth } from '../health/checks/http-shared.js';
import { since } from '../health/checks/util.js';
import { expiryOf, type ProbeReading, type ReadProbe, reads } from './probe-reading.js';

type HttpCheck = Extract<CheckConfig, { type: 'http' }>;

/** How much of a body nobody reads is drained before the connection is dropped instead. */
const DRAIN_LIMIT = 128 * 1024;

/** What the connector saw of the one connection a run opens. */
interface Seen {
  ip?: string;
  /** Over TLS: when the peer's certificate expires (wall-clock ms). */
  certificateExpiresAt?: number;
}

/** A run in progress: where its connection is reported, and what aborts it. */
interface Run {
  seen: Seen;
  signal: AbortSignal;
}

/**
 * The `http` check of the monitor: like the health `http` check (one fresh connection per run, no
 * redirects) but it also reports status, body, response time, address and certificate expiry to
 * the conditions. With a `[STATUS]` condition and no `expectStatus`, the conditions judge the status.
 *
 * The component keeps one undici client for all its runs, and each request asks it to close the
 * connection after the response (`reset`), so every run still connects afresh. Whatever a closed
 * socket still points at outlives the young generation's collections: with a client per run and
 * undici's request API that was several kB per check, promoted to old space at a thousand checks
 * a second; a shared client and a plain dispatch handler leave about a third of it.
 */
export function httpObserver(check: HttpCheck, conditions: readonly Condition[], clock: Clock, sourceAddress?: string): ReadProbe {
  localSource(sourceAddress); // validates it now, not in the connector
  const target = new URL(check.url);
  const method = check.method ?? 'GET';
  const headers = withBasicAuth(target, { ...check.headers });
  const expected = check.expectStatus ?? (reads(conditions, ['STATUS']) ? undefined : 200);
  const status = expected === undefined ? undefined : statusMatcher(expected);
  const bodyError = bodyMatcher(check.expectBody);
  const wantsBody = bodyError !== undefined || reads(conditions, ['BODY']);
  const secrets = secretsOf(target.href);
  const request: Dispatcher.DispatchOptions = {
    origin: target.origin,
    path: target.pathname + target.search,
    method,
    headers,
    reset: true,
  };

  // The run holding the shared client: its connector reports there. Runs of a component do not
  // overlap in the monitor; one that does anyway gets a client of its own for that run.
  let holder: Run | undefined;
  const shared = new Client(target.origin, {
    connect: (options, callback) => {
      // no holder: the request of a run that already ended (it aborts the request when it starts)
      if (holder === undefined) callback(new Error('the run ended before its connection opened'), null);
      else watching(timedConnector({}, undefined, holder.signal, sourceAddress), holder.seen)(options, callback);
    },
  });

  return async (signal) => {
    const run: Run = { seen: {}, signal };
    const { seen } = run;
    const start = performance.now();
    const useShared = holder === undefined;
    const client = useShared
      ? shared
      : new Client(target.origin, { connect: watching(timedConnector({}, undefined, signal, sourceAddress), seen) });
    if (useShared) holder = run;
    try {
      const { statusCode: code, body } = await send(client, request, signal, wantsBody);
      const responseTimeMs = since(start);
      const context: ConditionContext = { status: code, responseTimeMs, body, connected: true, ...observed(seen, clock) };
      const details = { statusCode: code, responseTimeMs, ...(seen.ip === undefined ? {} : { ip: seen.ip }) };
      const error = status && !status.test(code) ? status.explain(code) : bodyError?.(body ?? '');
      return withCertificate(
        error === undefined ? { status: 'healthy', details, context } : { status: 'unhealthy', error, details, context },
        seen,
      );
    } catch (error) {
      if (signal.aborted) throw error;
      // refused or unreachable: `[CONNECTED] == false` can assert on that
      const connected = seen.ip !== undefined;
      const context = { connected, ...observed(seen, clock) };
      return withCertificate({ status: 'unhealthy', error: readable(error, secrets).message, context, assertable: !connected }, seen);
    } finally {
      if (useShared) holder = undefined;
      else await client.destroy();
    }
  };
}

/**
 * Sends `request` on `client`: resolves with the status and, when `wantsBody`, the first
 * {@link BODY_LIMIT} bytes of the body as UTF-8 (reading stops there); an unread body is drained
 * up to {@link DRAIN_LIMIT}, its errors ignored. Rejects at once when `signal` aborts, and aborts
 * the request.
 */
function send(
  client: Dispatcher,
  request: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  wantsBody: boolean,
): Promise<{ statusCode: number; body: string | undefined }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let responding = false;
    let size = 0;
    const chunks: Buffer[] = [];
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(error);
      else resolve({ statusCode, body: wantsBody ? Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8') : undefined });
    };
    /** Ends the run with what was read and drops the rest of the response. */
    const stop = () => {
      settle();
      controller?.abort(new Error('response body not read further'));
    };
    const onAbort = () => {
      controller?.abort(signal.reason);
      settle(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    client.dispatch(request, {
      onRequestStart(c) {
        controller = c;
        if (settled) c.abort(signal.reason ?? new Error('aborted'));
      },
      onResponseStart(_c, code, responseHeaders) {
        statusCode = code;
        responding = true;
        if (!wantsBody && Number(responseHeaders['content-length']) > DRAIN_LIMIT) stop();
      },
      onResponseData(_c, chunk) {
        size += chunk.length;
        if (wantsBody) {
          chunks.push(chunk);
          if (size >= BODY_LIMIT) stop();
        } else if (size > DRAIN_LIMIT) stop();
      },
      onResponseEnd() {
        settle();
      },
      onResponseError(_c, error) {
        settle(responding && !wantsBody ? undefined : error);
      },
    });
  });
}

/** What the connection tells the conditions: `[IP]` and `[CERTIFICATE_EXPIRATION]` (ms left now). */
function observed(seen: Seen, clock: Clock): Pick<ConditionContext, 'ip' | 'certificateExpirationMs'> {
  const context: Pick<ConditionContext, 'ip' | 'certificateExpirationMs'> = {};
  if (seen.ip !== undefined) context.ip = seen.ip;
  if (seen.certificateExpiresAt !== undefined) context.certificateExpirationMs = seen.certificateExpiresAt - clock.now();
  return context;
}

/** `reading` with the certificate's expiry, when the connection was over TLS. */
function withCertificate(reading: ProbeReading, seen: Seen): ProbeReading {
  return seen.certificateExpiresAt === undefined ? reading : { ...reading, certificateExpiresAt: seen.certificateExpiresAt };
}

/** Wraps `connector` to note the address connected to and, over TLS, when the certificate expires. */
function watching(connector: buildConnector.connector, seen: Seen): buildConnector.connector {
  return (options, callback) =>
    connector(options, (...args: Parameters<buildConnector.Callback>) => {
      const socket = args[1];
      if (socket) {
        seen.ip = socket.remoteAddress;
        if ('getPeerCertificate' in socket) seen.certificateExpiresAt = expiryOf((socket as TLSSocket).getPeerCertificate().valid_to);
      }
      callback(...args);
    });
}
