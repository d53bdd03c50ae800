import { HttpError } from './errors.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The fixed windows of the figures, by label. */
export const WINDOWS = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY } as const;

/** A window label of {@link WINDOWS}. */
export type WindowLabel = keyof typeof WINDOWS;

/** JSON schema of a time in a query: epoch ms or an ISO 8601 date(-time). */
export const TIME_SCHEMA = {
  type: 'string',
  pattern: '^(?:\\d{1,15}|\\d{4}-\\d{2}-\\d{2}(?:[Tt ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:[Zz]|[+-]\\d{2}:?\\d{2})?)?)$',
  maxLength: 40,
} as const;

/** Epoch ms of a query time (epoch ms or ISO 8601); a 400 when it names no real instant. */
export function parseTime(value: string, field: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new HttpError(400, 'invalid request', [{ in: 'querystring', path: field, message: 'is not a date' }]);
  return ms;
}

/** How far past the server's now an `?at=` may lie (another host's clock running ahead); it is then taken as now. */
export const AT_TOLERANCE_MS = 1000;

/**
 * The instant figures are evaluated at: now, or the `?at=` of the request (epoch ms or ISO 8601).
 * A past instant gives the windows ending there, from everything known at the request: results that
 * were still running at `at` count, so it equals what was served at `at` whenever none was. Later
 * than now + {@link AT_TOLERANCE_MS} is a 400: the future has no figures; within it, now.
 */
export function evaluationInstant(now: number, at: string | undefined): number {
  if (at === undefined) return now;
  const ms = parseTime(at, 'at');
  if (ms > now + AT_TOLERANCE_MS)
    throw new HttpError(400, 'invalid request', [{ in: 'querystring', path: 'at', message: 'is in the future' }]);
  return Math.min(ms, now);
}

/** An ISO 8601 string of epoch ms, or null. */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** ms → seconds, keeping null. */
export function seconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}
