import type { Clock } from '../core/clock.js';
import { readable } from '../core/redact.js';
import { compose } from '../policy/compose.js';
import { retry } from '../policy/retry.js';
import { timeout } from '../policy/timeout.js';

/** What one delivery came to: attempts made, and the last error when none succeeded. */
export interface Delivery {
  attempts: number;
  error?: string;
}

/** How a receiver retries one message: its config's `maxAttempts` and `retryDelay`, and each attempt's `timeout`. */
export interface RetrySettings {
  timeout: number;
  maxAttempts: number;
  retryDelay: number;
}

/** Options of {@link deliverer}. */
export interface DelivererOptions {
  clock: Clock;
  /** Whether a failed attempt is worth another. */
  retryable: (error: unknown) => boolean;
  /** Scrubbed from the error a failed delivery comes back with (a URL holding a token, a password). */
  secrets: readonly string[];
}

/**
 * A function delivering one message through nines' own retry policy: each attempt under its
 * timeout, retried with backoff (from `retryDelay`, doubling, jittered, capped at 1 min, or
 * longer when the error carries a `retryAfterMs`) while `retryable` says so. It never rejects: a
 * message it could not deliver comes back with the error, for the dead letters. `name` is the
 * receiver's, for the retry policy's metrics.
 */
export function deliverer(name: string, settings: RetrySettings, options: DelivererOptions) {
  const policy = compose(
    retry({
      name: `notify-${name}`,
      maxAttempts: settings.maxAttempts,
      backoff: { type: 'exponential', initial: settings.retryDelay, max: 60_000 },
      retryOn: (o) => !o.ok && options.retryable(o.error),
      budget: false,
      clock: options.clock,
    }),
    timeout(settings.timeout, { clock: options.clock }),
  );
  return async (attempt: (signal: AbortSignal) => Promise<void>): Promise<Delivery> => {
    let attempts = 0;
    try {
      await policy.execute(async ({ signal }) => {
        attempts++;
        await attempt(signal);
      });
      return { attempts };
    } catch (error) {
      return { attempts, error: readable(error, options.secrets).message };
    }
  };
}
