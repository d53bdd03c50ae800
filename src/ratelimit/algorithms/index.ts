import { InvalidOptionError } from '../../core/errors.js';
import { checkInteger } from '../../core/validate.js';
import type { AlgorithmKind, AlgorithmLimits, RateAlgorithm } from './algorithm.js';
import { FixedWindow } from './fixed-window.js';
import { Gcra } from './gcra.js';
import { SLIDING_LOG_MAX_LIMIT, SlidingLog } from './sliding-log.js';
import { SlidingWindow } from './sliding-window.js';
import { TokenBucket } from './token-bucket.js';

/** What {@link createAlgorithm} is built from: the limiter's options that shape decisions. */
export interface AlgorithmOptions {
  /** Default `'sliding-window'`. */
  algorithm?: AlgorithmKind;
  /** Units allowed per `windowDuration`. */
  limit: number;
  /** ms. */
  windowDuration: number;
  /** Most units a key can save up, for `token-bucket` and `gcra`. Default `limit`. */
  burst?: number;
  /** ms a key stays refused after a refusal. Default 0 (none). */
  blockDuration?: number;
}

const KINDS: Record<AlgorithmKind, new (limits: AlgorithmLimits) => RateAlgorithm> = {
  'token-bucket': TokenBucket,
  gcra: Gcra,
  'fixed-window': FixedWindow,
  'sliding-window': SlidingWindow,
  'sliding-log': SlidingLog,
};

/** Validates `options` and builds the algorithm's transitions; throws `InvalidOptionError`. */
export function createAlgorithm(options: AlgorithmOptions): RateAlgorithm {
  const kind = options.algorithm ?? 'sliding-window';
  const Kind = Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
  if (Kind === undefined) {
    throw new InvalidOptionError(`algorithm must be one of ${Object.keys(KINDS).join(', ')}, got ${String(kind)}`);
  }
  const limit = checkInteger('limit', options.limit, 1, kind === 'sliding-log' ? SLIDING_LOG_MAX_LIMIT : undefined);
  const windowDuration = checkInteger('windowDuration', options.windowDuration, 1);
  const buckets = kind === 'token-bucket' || kind === 'gcra';
  if (options.burst !== undefined && !buckets) throw new InvalidOptionError(`burst applies to token-bucket and gcra, not ${kind}`);
  const capacity = checkInteger('burst', options.burst ?? limit, 1);
  // the scaled integer arithmetic (and an infinite limit) is caught here: arithmetic (units × windowDuration, in µs for gcra) stays exact below 2^53
  const most = Math.floor(Number.MAX_SAFE_INTEGER / (kind === 'gcra' ? 1000 : 2));
  if (Math.max(capacity, limit) * windowDuration > most) {
    throw new InvalidOptionError(`limit × windowDuration (burst × windowDuration) must be at most ${most}`);
  }
  const blockDuration = checkInteger('blockDuration', options.blockDuration ?? 0, 0, Number.MAX_SAFE_INTEGER);
  return new Kind({ limit, windowDuration, capacity, blockDuration });
}
