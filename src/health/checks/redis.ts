import type { Redis as IORedis } from 'ioredis';
import { abortable } from '../../core/abort.js';
import { InvalidOptionError } from '../../core/errors.js';
import { messageOf, readable, redactUrl, secretsOf } from '../../core/redact.js';
import { checkNumber } from '../../core/validate.js';
import type { HealthCheck } from '../types.js';
import { since } from './util.js';

/** What {@link redis} needs of a client: an ioredis `Redis` fits. */
export interface RedisLike {
  ping(): Promise<string>;
  info(section: string): Promise<string>;
}

/** Options of {@link redis}. */
export interface RedisCheckOptions {
  /** ms to wait for the TCP connection in a URL run. Default 2000. */
  connectTimeout?: number;
}

/**
 * PINGs a client (or a fresh connection to a URL, loading `ioredis` only then: no retries, always
 * disconnected) and reads INFO. Details: `pingMs`, `usedMemoryBytes`, `maxMemoryBytes`, `memoryRatio`
 * (when maxmemory is set), `connectedClients`. A URL's password is sent with an explicit AUTH, so a
 * wrong one fails the check even on a server that has none.
 */
export function redis(clientOrUrl: RedisLike | string, options: RedisCheckOptions = {}): HealthCheck {
  const connectTimeout = checkNumber('connectTimeout', options.connectTimeout ?? 2000, 1);
  if (typeof clientOrUrl === 'string') return redisUrl(parseUrl(clientOrUrl), clientOrUrl, connectTimeout);
  if (typeof clientOrUrl?.ping !== 'function' || typeof clientOrUrl.info !== 'function') {
    throw new InvalidOptionError('clientOrUrl must be an ioredis client (anything with ping and info) or a redis:// URL');
  }
  const client = clientOrUrl;
  return async ({ signal }) => {
    try {
      // ioredis cannot cancel a command: an abort stops the wait, the user's client carries on
      return { details: await abortable(measure(client), signal) };
    } catch (error) {
      throw readable(error);
    }
  };
}

function redisUrl(url: URL, raw: string, connectTimeout: number): HealthCheck {
  const secrets = secretsOf(raw);
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const db = Number(url.pathname.slice(1) || 0);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return async ({ signal }) => {
    signal.throwIfAborted();
    const { Redis } = await import('ioredis');
    // No credentials here: ioredis only warns (on the console) when a password is refused by a
    // server that has none, so AUTH is sent below where its error counts.
    const client: IORedis = new Redis({
      host,
      port: Number(url.port || 6379),
      tls: url.protocol === 'rediss:' ? {} : undefined,
      protocol: 2,
      lazyConnect: true,
      enableReadyCheck: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout,
    });
    let lastError: unknown;
    client.on('error', (error: unknown) => {
      lastError = error; // also keeps ioredis from printing "Unhandled error event"
    });
    const run = async () => {
      // with retries off, connect() rejects with a bare "Connection is closed."; the 'error' event says why
      await client.connect().catch((error: unknown) => {
        throw lastError ?? error;
      });
      if (password) {
        await (username ? client.auth(username, password) : client.auth(password)).catch((error: unknown) => {
          throw new Error(`AUTH failed: ${messageOf(error)}`);
        });
      }
      if (db) await client.select(db);
      return measure(client);
    };
    try {
      return { details: await abortable(run(), signal, () => client.disconnect()) };
    } catch (error) {
      throw readable(error, secrets);
    } finally {
      client.disconnect();
    }
  };
}

async function measure(client: RedisLike): Promise<Record<string, unknown>> {
  const start = performance.now();
  await client.ping();
  const pingMs = since(start);
  const [memory, clients] = await Promise.all([client.info('memory'), client.info('clients')]);
  const fields = parseInfo(`${memory}\n${clients}`);
  const usedMemoryBytes = Number(fields.get('used_memory'));
  const maxMemoryBytes = Number(fields.get('maxmemory') ?? 0);
  const details: Record<string, unknown> = { pingMs, usedMemoryBytes, maxMemoryBytes };
  if (maxMemoryBytes > 0) details.memoryRatio = Math.round((usedMemoryBytes / maxMemoryBytes) * 10_000) / 10_000;
  details.connectedClients = Number(fields.get('connected_clients'));
  return details;
}

/** `key:value` lines of an INFO reply. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

function parseUrl(raw: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (url?.protocol !== 'redis:' && url?.protocol !== 'rediss:') {
    throw new InvalidOptionError(`clientOrUrl must be an ioredis client or a redis:// URL, got ${JSON.stringify(redactUrl(raw))}`);
  }
  const db = url.pathname.slice(1);
  if (db !== '' && !/^\d+$/.test(db))
    throw new InvalidOptionError(`clientOrUrl: the database in the URL path must be a number, got ${JSON.stringify(db)}`);
  return url;
}
