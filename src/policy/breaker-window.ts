import type { Clock } from '../core/clock.js';

/** A window's serialisable content, stored in a breaker snapshot. */
export type WindowSnapshot =
  | { type: 'consecutive'; failures: number; lastFailureAt: number }
  | { type: 'count'; outcomes: number[] }
  | { type: 'time'; buckets: Array<[epoch: number, calls: number, failures: number, slow: number]> };

/** Decides when a closed breaker opens, from the outcomes recorded since the last reset. */
export interface FailureWindow {
  /** Records a success (maybe slow); returns true when the breaker should open. */
  success(slow: boolean): boolean;
  /** Records a failure (maybe slow); returns true when the breaker should open. */
  failure(slow: boolean): boolean;
  reset(): void;
  snapshot(): WindowSnapshot;
  restore(snapshot: WindowSnapshot): void;
}

/** Thresholds shared by both sliding windows. */
export interface RateThresholds {
  failureRateThreshold: number;
  slowCallRateThreshold: number;
  minimumThroughput: number;
}

function rateExceeded(t: RateThresholds, calls: number, failures: number, slow: number): boolean {
  if (calls < t.minimumThroughput || calls === 0) return false;
  return (failures * 100) / calls >= t.failureRateThreshold || (slow * 100) / calls >= t.slowCallRateThreshold;
}

/** Opens after N failures in a row; a gap of `resetTimeout` since the last failure starts the count again. */
export class ConsecutiveWindow implements FailureWindow {
  #failures = 0;
  #lastFailureAt = 0;

  constructor(
    private readonly threshold: number,
    private readonly resetTimeout: number,
    private readonly clock: Clock,
  ) {}

  success(): boolean {
    this.#failures = 0;
    return false;
  }

  failure(): boolean {
    const now = this.clock.now();
    if (now - this.#lastFailureAt >= this.resetTimeout) this.#failures = 0;
    this.#lastFailureAt = now;
    return ++this.#failures >= this.threshold;
  }

  reset(): void {
    this.#failures = 0;
  }

  snapshot(): WindowSnapshot {
    return { type: 'consecutive', failures: this.#failures, lastFailureAt: this.#lastFailureAt };
  }

  restore(s: WindowSnapshot): void {
    if (s.type !== 'consecutive') return;
    this.#failures = s.failures;
    this.#lastFailureAt = s.lastFailureAt;
  }
}

const FAILED = 1;
const SLOW = 2;

/** The last `size` calls, kept in a ring with running sums so each record is O(1). */
export class CountWindow implements FailureWindow {
  readonly #ring: Uint8Array;
  #next = 0;
  #calls = 0;
  #failures = 0;
  #slow = 0;

  constructor(
    size: number,
    private readonly thresholds: RateThresholds,
  ) {
    this.#ring = new Uint8Array(size);
  }

  success(slow: boolean): boolean {
    this.#push(slow ? SLOW : 0);
    return slow && this.#exceeded();
  }

  failure(slow: boolean): boolean {
    this.#push(slow ? FAILED | SLOW : FAILED);
    return this.#exceeded();
  }

  #push(flags: number): void {
    const ring = this.#ring;
    if (this.#calls === ring.length) {
      const old = ring[this.#next] ?? 0;
      this.#failures -= old & FAILED;
      this.#slow -= (old & SLOW) >> 1;
    } else {
      this.#calls++;
    }
    ring[this.#next] = flags;
    this.#failures += flags & FAILED;
    this.#slow += (flags & SLOW) >> 1;
    this.#next = (this.#next + 1) % ring.length;
  }

  #exceeded(): boolean {
    return rateExceeded(this.thresholds, this.#calls, this.#failures, this.#slow);
  }

  reset(): void {
    this.#ring.fill(0);
    this.#next = this.#calls = this.#failures = this.#slow = 0;
  }

  snapshot(): WindowSnapshot {
    const outcomes: number[] = [];
    const start = this.#calls === this.#ring.length ? this.#next : 0;
    for (let i = 0; i < this.#calls; i++) outcomes.push(this.#ring[(start + i) % this.#ring.length] ?? 0);
    return { type: 'count', outcomes };
  }

  restore(s: WindowSnapshot): void {
    if (s.type !== 'count') return;
    this.reset();
    for (const flags of s.outcomes.slice(-this.#ring.length)) this.#push(flags & (FAILED | SLOW));
  }
}

/**
 * Calls in the last `duration` ms, in `buckets` slices. A slice is recognised by its epoch
 * (time / slice length), so a slice left over from before an idle gap is never counted.
 */
export class TimeWindow implements FailureWindow {
  readonly #sliceMs: number;
  readonly #epoch: Float64Array;
  readonly #calls: Uint32Array;
  readonly #failures: Uint32Array;
  readonly #slow: Uint32Array;

  constructor(
    duration: number,
    buckets: number,
    private readonly thresholds: RateThresholds,
    private readonly clock: Clock,
  ) {
    this.#sliceMs = duration / buckets;
    this.#epoch = new Float64Array(buckets).fill(-1);
    this.#calls = new Uint32Array(buckets);
    this.#failures = new Uint32Array(buckets);
    this.#slow = new Uint32Array(buckets);
  }

  success(slow: boolean): boolean {
    const epoch = this.#record(0, slow);
    return slow && this.#exceeded(epoch);
  }

  failure(slow: boolean): boolean {
    return this.#exceeded(this.#record(1, slow));
  }

  #record(failed: number, slow: boolean): number {
    const epoch = Math.floor(this.clock.now() / this.#sliceMs);
    const i = epoch % this.#epoch.length;
    if (this.#epoch[i] !== epoch) {
      this.#epoch[i] = epoch;
      this.#calls[i] = this.#failures[i] = this.#slow[i] = 0;
    }
    this.#calls[i] = (this.#calls[i] ?? 0) + 1;
    this.#failures[i] = (this.#failures[i] ?? 0) + failed;
    if (slow) this.#slow[i] = (this.#slow[i] ?? 0) + 1;
    return epoch;
  }

  #exceeded(epoch: number): boolean {
    const oldest = epoch - this.#epoch.length;
    let calls = 0;
    let failures = 0;
    let slow = 0;
    for (let i = 0; i < this.#epoch.length; i++) {
      if ((this.#epoch[i] ?? -1) > oldest) {
        calls += this.#calls[i] ?? 0;
        failures += this.#failures[i] ?? 0;
        slow += this.#slow[i] ?? 0;
      }
    }
    return rateExceeded(this.thresholds, calls, failures, slow);
  }

  reset(): void {
    this.#epoch.fill(-1);
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
  }

  snapshot(): WindowSnapshot {
    const buckets: Array<[number, number, number, number]> = [];
    for (let i = 0; i < this.#epoch.length; i++) {
      const epoch = this.#epoch[i] ?? -1;
      if (epoch >= 0) buckets.push([epoch, this.#calls[i] ?? 0, this.#failures[i] ?? 0, this.#slow[i] ?? 0]);
    }
    return { type: 'time', buckets };
  }

  restore(s: WindowSnapshot): void {
    if (s.type !== 'time') return;
    this.reset();
    for (const [epoch, calls, failures, slow] of s.buckets) {
      const i = epoch % this.#epoch.length;
      if ((this.#epoch[i] ?? -1) > epoch) continue;
      this.#epoch[i] = epoch;
      this.#calls[i] = calls;
      this.#failures[i] = failures;
      this.#slow[i] = slow;
    }
  }
}
