/**
 * Where an answer came from: `fresh` (the call itself), `cache` (a cached value still within its
 * ttl), `stale` (a cached value past its ttl), `static` or `service` (a substitute), `partial` (some
 * parts of a {@link PartialFailureHandler} run failed), `failed` (no answer: the caller got an error).
 */
export type FallbackSource = 'fresh' | 'cache' | 'stale' | 'static' | 'service' | 'partial' | 'failed';

/** A value and where it came from, so callers and metrics can say when they answer degraded. */
export interface FallbackAnswer<T> {
  readonly value: T;
  /** Never `failed`: a failed call throws. */
  readonly source: Exclude<FallbackSource, 'failed'>;
  /** ms since the value was fetched: 0 for `fresh`, the entry's age for `cache` and `stale`. */
  readonly ageMs: number;
  /** The failure a substitute or a stale value stands in for; absent when the call did not fail. */
  readonly error?: unknown;
}
