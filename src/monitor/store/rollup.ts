import { BUCKETS, bucketOf, quantile } from './histogram.js';
import type { RollupTable } from './schema.js';
import type { ProbeStats } from './types.js';

/** The counted part of a rollup row (everything but its key). */
export type RollupCounts = Omit<RollupTable, 'component_id' | 'bucket_start_ms'>;

/** Counts and latency of some checks: built from raw rows and stored rollups alike, then merged. */
export class Aggregate {
  healthy = 0;
  degraded = 0;
  unhealthy = 0;
  latencySum = 0;
  latencyMin = Number.POSITIVE_INFINITY;
  latencyMax = Number.NEGATIVE_INFINITY;
  readonly histogram: number[] = new Array<number>(BUCKETS).fill(0);

  /** Number of checks counted. */
  get total(): number {
    return this.healthy + this.degraded + this.unhealthy;
  }

  /** Counts one raw check (status 0, 1 or 2). */
  addCheck(status: number, durationMs: number): void {
    if (status === 0) this.healthy++;
    else if (status === 1) this.degraded++;
    else this.unhealthy++;
    this.latencySum += durationMs;
    if (durationMs < this.latencyMin) this.latencyMin = durationMs;
    if (durationMs > this.latencyMax) this.latencyMax = durationMs;
    const i = bucketOf(durationMs);
    this.histogram[i] = (this.histogram[i] ?? 0) + 1;
  }

  /** Merges a stored rollup. */
  addRollup(row: RollupCounts): void {
    this.healthy += row.healthy;
    this.degraded += row.degraded;
    this.unhealthy += row.unhealthy;
    this.latencySum += row.latency_sum;
    if (row.latency_min < this.latencyMin) this.latencyMin = row.latency_min;
    if (row.latency_max > this.latencyMax) this.latencyMax = row.latency_max;
    const counts = JSON.parse(row.histogram) as number[];
    for (let i = 0; i < BUCKETS; i++) this.histogram[i] = (this.histogram[i] ?? 0) + (counts[i] ?? 0);
  }

  /** The row to store for this aggregate as the bucket of `componentId` starting at `bucketStart`. */
  toRow(componentId: number, bucketStart: number): RollupTable {
    return {
      component_id: componentId,
      bucket_start_ms: bucketStart,
      healthy: this.healthy,
      degraded: this.degraded,
      unhealthy: this.unhealthy,
      latency_sum: this.latencySum,
      latency_min: this.latencyMin,
      latency_max: this.latencyMax,
      histogram: JSON.stringify(this.histogram),
    };
  }

  /** Counts and estimated percentiles. */
  stats(): ProbeStats {
    const total = this.total;
    const q = (p: number) => quantile(this.histogram, total, p, this.latencyMin, this.latencyMax);
    return { total, healthy: this.healthy, degraded: this.degraded, unhealthy: this.unhealthy, p50: q(0.5), p95: q(0.95), p99: q(0.99) };
  }
}
