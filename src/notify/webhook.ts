import { createHmac } from 'node:crypto';
import { type Dispatcher, request } from 'undici';
import type { WebhookConfig } from '../config/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import { NinesError } from '../core/errors.js';
import { parseRetryAfter } from '../policy/retry-after.js';
import { type Delivery, deliverer } from './delivery.js';

/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const SIGNATURE_HEADER = 'x-nines-signature';
/** Header carrying the Unix time (seconds) the body was signed at; a receiver refuses old ones (replay). */
export const TIMESTAMP_HEADER = 'x-nines-timestamp';

/** The signature of `body` sent at `timestamp` (Unix seconds) under `secret`, as the header carries it. */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A receiver answered with a status other than 2xx. */
export class ReceiverRefusedError extends NinesError {
  /** The HTTP status it answered. */
  readonly status: number;
  /** How long it asked to wait before the next attempt (its `Retry-After`), if it did. */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, retryAfterMs?: number) {
    super('NINES_RECEIVER_REFUSED', `receiver answered ${status}`);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The longest `Retry-After` waited for; a receiver asking for more gets a dead letter now rather than a retry it would refuse. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * A status worth another attempt: a server error or "too many requests" (after its Retry-After, up
 * to {@link MAX_RETRY_AFTER_MS}); any other 4xx would be refused again.
 */
const retryable = (error: unknown) =>
  !(error instanceof ReceiverRefusedError) ||
  ((error.status >= 500 || error.status === 429) && (error.retryAfterMs ?? 0) <= MAX_RETRY_AFTER_MS);

/**
 * POSTs `body` as JSON to `url` (through `dispatcher`, default undici's global one) and resolves
 * with what it answered, read up to `keep` characters (default none); a status other than 2xx is
 * a {@link ReceiverRefusedError}, with the wait its `Retry-After` asks for (an HTTP-date read
 * against `clock`).
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  clock: Clock = systemClock,
  options: { dispatcher?: Dispatcher; keep?: number } = {},
): Promise<string> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal,
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
  });
  const keep = options.keep ?? 0;
  let answer = '';
  if (keep === 0) await response.body.dump();
  else
    for await (const chunk of response.body) {
      answer += String(chunk);
      if (answer.length >= keep) break; // the rest is not read
    }
  if (response.statusCode >= 200 && response.statusCode < 300) return answer.slice(0, keep);
  const retryAfter = response.headers['retry-after'];
  throw new ReceiverRefusedError(response.statusCode, parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, clock.now()));
}

/**
 * POSTs JSON to one webhook receiver (kinds `webhook` and `slack`): each attempt under its
 * timeout, retried with backoff by nines' own retry policy on network errors, 5xx and 429
 * (honouring Retry-After; another 4xx would fail again). Never rejects: a message it could not
 * deliver comes back with the error, for the dead letters.
 */
export class WebhookSender {
  readonly #config: WebhookConfig;
  readonly #clock: Clock;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #deliver;

  /** `name`: the receiver's, for the retry policy's metrics; `dispatcher`: how to connect (default undici's global one). */
  constructor(name: string, webhook: WebhookConfig, options: { clock?: Clock; dispatcher?: Dispatcher } = {}) {
    this.#config = webhook;
    this.#clock = options.clock ?? systemClock;
    this.#dispatcher = options.dispatcher;
    // the URL may hold credentials (a Slack webhook's is one) and the secret must never leave: neither reaches the error
    const secrets = [webhook.secret, webhook.url].filter((s): s is string => s !== undefined);
    this.#deliver = deliverer(name, webhook, { clock: this.#clock, retryable, secrets });
  }

  /**
   * Sends `body` (JSON text); resolves with the attempts made and, if all failed, why, and with
   * the first `keep` characters the receiver answered (a challenge it echoes).
   */
  async send(body: string, keep = 0): Promise<Delivery & { answer: string }> {
    let answer = '';
    const delivery = await this.#deliver(async (signal) => {
      const timestamp = Math.floor(this.#clock.now() / 1000);
      const headers: Record<string, string> = {
        'user-agent': 'nines',
        [TIMESTAMP_HEADER]: String(timestamp),
      };
      if (this.#config.secret !== undefined) headers[SIGNATURE_HEADER] = signature(this.#config.secret, timestamp, body);
      answer = await postJson(this.#config.url, body, headers, signal, this.#clock, {
        keep,
        ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher }),
      });
    });
    return { ...delivery, answer };
  }
}
