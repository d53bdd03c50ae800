import { InvalidOptionError } from '../core/errors.js';
import { checkNumber } from '../core/validate.js';

/** How long to wait between attempts. */
export type BackoffOptions =
  | { type: 'constant' /** ms between attempts. */; delay: number }
  | {
      type: 'exponential';
      /** ms before the first retry. Default 100. */
      initial?: number;
      /** Growth per retry. Default 2. */
      multiplier?: number;
      /** Cap in ms. Default 30 000. */
      max?: number;
      /** Randomisation that spreads a fleet's retries apart. Default `'full'`. */
      jitter?: 'full' | 'equal' | 'decorrelated' | 'none';
    };

/** Gives the delay before retry number `retry` (1-based), knowing the previous delay. */
export type Backoff = (retry: number, previous: number) => number;

/** Builds a {@link Backoff} from options, validating them; `random` is injectable for tests. */
export function createBackoff(options: BackoffOptions, random: () => number = Math.random): Backoff {
  if (options.type === 'constant') {
    const delay = checkNumber('backoff.delay', options.delay);
    return () => delay;
  }
  if (options.type !== 'exponential') {
    throw new InvalidOptionError(`backoff.type must be 'constant' or 'exponential', got ${String((options as { type: unknown }).type)}`);
  }
  const initial = checkNumber('backoff.initial', options.initial ?? 100);
  const multiplier = checkNumber('backoff.multiplier', options.multiplier ?? 2, 1);
  const max = checkNumber('backoff.max', options.max ?? 30_000, initial);
  const jitter = options.jitter ?? 'full';
  const ceiling = (retry: number) => Math.min(max, initial * multiplier ** (retry - 1));
  switch (jitter) {
    case 'none':
      return (retry) => ceiling(retry);
    case 'full':
      return (retry) => random() * ceiling(retry);
    case 'equal':
      return (retry) => {
        const d = ceiling(retry);
        return d / 2 + (random() * d) / 2;
      };
    case 'decorrelated':
      // AWS "decorrelated jitter": between the initial delay and `multiplier` times the previous one.
      return (_retry, previous) => {
        const upper = Math.max(initial, previous * multiplier);
        return Math.min(max, initial + random() * (upper - initial));
      };
    default:
      throw new InvalidOptionError(`backoff.jitter must be 'full', 'equal', 'decorrelated' or 'none', got ${String(jitter)}`);
  }
}
