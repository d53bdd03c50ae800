import { Agent } from 'undici';
import { InvalidOptionError } from '../core/errors.js';
import { checkNumber, checkString } from '../core/validate.js';
import { DEFAULT_CHECK_TIMEOUT_MS, type Probe, type ProbeOutcome } from './active-check.js';

/** Default path probed: nines' readiness endpoint (src/health), which answers 503 while its service shuts down. */
export const DEFAULT_PROBE_PATH = '/readiness';

/** Options of {@link httpProbe}. */
export interface HttpProbeOptions {
  /** Path (and query) requested on each endpoint; default {@link DEFAULT_PROBE_PATH}. */
  path?: string;
  /** Whole-probe timeout in ms (connect, headers and body); default {@link DEFAULT_CHECK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Extra request headers; `user-agent` defaults to `nines-health-check`. */
  headers?: Record<string, string>;
  /** Host header to send (the logical origin's, when endpoints are addresses); default the endpoint's. */
  host?: string;
}

/** A {@link Probe} that owns connections: `close()` releases them. */
export type HttpProbe = Probe & { close(): Promise<void> };

/**
 * An HTTP GET of `path` on each endpoint through undici, over a fresh connection each time (as
 * HAProxy's checks do: it proves the endpoint still accepts connections, and no stale keep-alive
 * socket fails a probe). Resolves `{ status }` once the body is read, `{ error }` when no answer
 * came (refused, reset, timeout, aborted); never rejects.
 */
export function httpProbe(options: HttpProbeOptions = {}): HttpProbe {
  const path = checkString('path', options.path ?? DEFAULT_PROBE_PATH);
  if (!path.startsWith('/')) throw new InvalidOptionError(`path must start with "/", got ${path}`);
  const timeoutMs = checkNumber('timeoutMs', options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, 1, 2_147_483_647);
  const headers: Record<string, string> = { 'user-agent': 'nines-health-check' };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (typeof value !== 'string') throw new InvalidOptionError(`headers.${name} must be a string, got ${typeof value}`);
    headers[name.toLowerCase()] = value;
  }
  if (options.host !== undefined) headers.host = checkString('host', options.host);
  const agent = new Agent({ pipelining: 0, connect: { timeout: timeoutMs } });

  const probe = async (endpoint: string, signal: AbortSignal): Promise<ProbeOutcome> => {
    try {
      const response = await agent.request({
        origin: endpoint,
        path,
        method: 'GET',
        headers,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), // AbortSignal.timeout's timer is unref'd
      });
      await response.body.dump(); // frees the connection; a huge body is cut, not read
      return { status: response.statusCode };
    } catch (error) {
      return { error };
    }
  };
  return Object.assign(probe, { close: () => agent.destroy() });
}
