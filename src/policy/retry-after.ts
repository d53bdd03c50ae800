/**
 * Milliseconds to wait from an HTTP `Retry-After` header (delay-seconds or an HTTP-date), or
 * undefined when absent or unreadable. Put the result on an error as `retryAfterMs` for `retry`.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/^[A-Za-z]{3}, /.test(value)) return undefined; // IMF-fixdate starts with the weekday
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
