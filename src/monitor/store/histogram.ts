/**
 * The fixed latency histogram of rollups: counts per bucket, mergeable across minutes and hours.
 * Bucket i holds durations d with LATENCY_BOUNDS[i-1] < d <= LATENCY_BOUNDS[i]; the last bucket
 * holds everything slower than 60 s. Stored by index, so the bounds must never change.
 */

/** Upper bounds in ms, round(60000^(i/19)): log-spaced from 1 ms to 60 s. */
export const LATENCY_BOUNDS: readonly number[] = [
  1, 2, 3, 6, 10, 18, 32, 58, 103, 183, 327, 584, 1042, 1859, 3317, 5919, 10561, 18845, 33626, 60000,
];

/** Number of buckets: one per bound plus the overflow bucket. */
export const BUCKETS = LATENCY_BOUNDS.length + 1;

/** Index of the bucket `ms` falls in. */
export function bucketOf(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= (LATENCY_BOUNDS[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Estimates the `q` quantile (nearest rank) from bucket counts: the upper bound of the bucket the
 * rank falls in, clamped to the observed [min, max] (so it is exact when all values are equal, and
 * the overflow bucket answers max). The true value always lies in the same bucket as the estimate.
 */
export function quantile(counts: readonly number[], total: number, q: number, min: number, max: number): number | null {
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) return Math.min(max, Math.max(min, LATENCY_BOUNDS[i] ?? max));
  }
  return max;
}
