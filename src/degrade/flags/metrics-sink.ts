/** What a flag set shows to metrics: each flag's name and whether it is live (see `FlagSet.live`). */
export interface FlagSource {
  /** Every flag with its live state, read at scrape time. */
  liveFlags(): Iterable<readonly [flag: string, live: boolean]>;
}

/**
 * Where flag sets report, without importing prom-client: `nines/metrics` implements it with
 * `flagMetrics(registry)`. Leave it out and a flag set pays nothing.
 */
export interface FlagMetrics {
  /** Reads `source` at every scrape until the returned function is called. */
  observe(source: FlagSource): () => void;
}
