import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { WebhookConfig } from '../config/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import { NinesError } from '../core/errors.js';
import { readable } from '../core/redact.js';
import { compose } from '../policy/compose.js';
import { retry } from '../policy/retry.js';
import { timeout } from '../policy/timeout.js';

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

  constructor(status: number) {
    super('NINES_RECEIVER_REFUSED', `receiver answered ${status}`);
    this.status = status;
  }
}

/** A status worth another attempt: a server error or "too many requests"; any other 4xx would be refused again. */
const retryable = (error: unknown) => !(error instanceof ReceiverRefusedError) || error.status >= 500 || error.status === 429;

/** POSTs `body` as JSON to `url`; a status other than 2xx is a {@link ReceiverRefusedError}. */
export async function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal });
  await response.body.dump();
  if (response.statusCode < 200 || response.statusCode >= 300) throw new ReceiverRefusedError(response.statusCode);
}

/** What one delivery came to: attempts made, and the last error when none succeeded. */
export interface Delivery {
  attempts: number;
  error?: string;
}

/**
 * POSTs JSON to one webhook receiver: each attempt under its timeout, retried with backoff by
 * nines' own retry policy on network errors, 5xx and 429 (a 4xx would fail again). Never
 * rejects: a message it could not deliver comes back with the error, for the dead letters.
 */
export class WebhookSender {
  readonly #config: WebhookConfig;
  readonly #clock: Clock;
  readonly #policy;

  /** `name`: the receiver's, for the retry policy's metrics. */
  constructor(name: string, webhook: WebhookConfig, options: { clock?: Clock } = {}) {
    this.#config = webhook;
    this.#clock = options.clock ?? systemClock;
    this.#policy = compose(
      retry({
        name: `notify-${name}`,
        maxAttempts: webhook.maxAttempts,
        backoff: { type: 'exponential', initial: webhook.retryDelay, max: 60_000 },
        retryOn: (o) => !o.ok && retryable(o.error),
        budget: false,
        clock: this.#clock,
      }),
      timeout(webhook.timeout, { clock: this.#clock }),
    );
  }

  /** Sends `body` (JSON text); resolves with the attempts made and, if all failed, why. */
  async send(body: string): Promise<Delivery> {
    let attempts = 0;
    const secrets = [this.#config.secret, this.#config.url].filter((s): s is string => s !== undefined);
    try {
      await this.#policy.execute(async ({ signal }) => {
        attempts++;
        const timestamp = Math.floor(this.#clock.now() / 1000);
        const headers: Record<string, string> = {
          'user-agent': 'nines',
          [TIMESTAMP_HEADER]: String(timestamp),
        };
        if (this.#config.secret !== undefined) headers[SIGNATURE_HEADER] = signature(this.#config.secret, timestamp, body);
        await postJson(this.#config.url, body, headers, signal);
      });
      return { attempts };
    } catch (error) {
      // the URL may hold credentials and the secret must never leave: neither reaches the error
      return { attempts, error: readable(error, secrets).message };
    }
  }
}
