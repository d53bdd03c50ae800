import { z } from 'zod';
import { InvalidOptionError } from '../core/errors.js';

/** What every duration problem says, so a user sees the accepted forms at once. */
export const DURATION_HINT = 'expected a duration like 30s, 5m, 7d';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
/** Largest first, for formatting. */
const ORDER = ['d', 'h', 'm', 's', 'ms'] as const;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/**
 * Parses `250ms`, `30s`, `5m`, `1h`, `7d`, `2w` or a combination such as `1h30m` into ms; a number
 * is already ms. Throws a TypeError saying {@link DURATION_HINT} otherwise (the value is not echoed:
 * it may come from an environment variable).
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new InvalidOptionError(`${DURATION_HINT} or a number of ms >= 0`);
    return value;
  }
  const text = typeof value === 'string' ? value.trim() : '';
  if (!WHOLE.test(text)) throw new InvalidOptionError(DURATION_HINT);
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * (UNITS[unit ?? 'ms'] ?? 1);
  return ms;
}

/** Formats ms as the shortest exact combination of units: `90000` → `1m30s`, `0` → `0ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0ms';
  let text = ms < 0 ? '-' : '';
  for (const unit of ORDER) {
    const size = UNITS[unit] ?? 1;
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text;
}

/** Bounds of a {@link duration} schema, in ms. */
export interface DurationBounds {
  /** Smallest accepted value (inclusive). Default 0. */
  min?: number;
  /** Largest accepted value (inclusive). Default: none. */
  max?: number;
}

/** A zod schema reading a duration string (or a number of ms) and yielding ms. */
export function duration(bounds: DurationBounds = {}) {
  const { min = 0, max = Number.POSITIVE_INFINITY } = bounds;
  return z.union([z.string(), z.number()], { error: DURATION_HINT }).transform((value, ctx): number => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (error) {
      ctx.issues.push({ code: 'custom', message: (error as Error).message, input: value });
      return z.NEVER;
    }
    if (ms < min) ctx.issues.push({ code: 'custom', message: `must be at least ${formatDuration(min)}`, input: value });
    else if (ms > max) ctx.issues.push({ code: 'custom', message: `must be at most ${formatDuration(max)}`, input: value });
    return ms;
  });
}
