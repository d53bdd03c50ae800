import type { ProbeCursor } from '../monitor/history.js';

/** The API's `next` of a checks page: opaque (base64url of `time:id`), so clients pass it back as is. */
export function encodeCursor(cursor: ProbeCursor): string {
  return Buffer.from(`${cursor.time}:${cursor.id}`).toString('base64url');
}

/** The cursor `value` encodes, or undefined when it is not one {@link encodeCursor} made. */
export function decodeCursor(value: string): ProbeCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,60}$/.test(value)) return undefined;
  const match = /^(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(value, 'base64url').toString('latin1'));
  if (match === null) return undefined;
  const cursor = { time: Number(match[1]), id: Number(match[2]) };
  // base64url decoding skips what it cannot read: only the canonical spelling is a cursor
  return Number.isSafeInteger(cursor.time) && Number.isSafeInteger(cursor.id) && encodeCursor(cursor) === value ? cursor : undefined;
}
