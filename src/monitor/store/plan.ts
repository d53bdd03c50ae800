/** Where the checks of each part of a stats window are read from. */
export interface Segment {
  source: 'hour' | 'minute' | 'raw';
  from: number;
  to: number;
}

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/** `t` rounded down to a multiple of `step`. */
export function floorTo(t: number, step: number): number {
  return Math.floor(t / step) * step;
}

function ceilTo(t: number, step: number): number {
  return Math.ceil(t / step) * step;
}

/**
 * Splits [from, to) into whole hours already in `rollup_hour` (before `hourMark`), whole minutes
 * already in `rollup_minute` (before `minuteMark`) and raw rows for the rest, so a stats query
 * reads at most two partial minutes of raw rows plus whatever compaction has not reached yet.
 */
export function planWindow(from: number, to: number, hourMark: number, minuteMark: number): Segment[] {
  const out: Segment[] = [];
  const push = (source: Segment['source'], a: number, b: number) => {
    if (a < b) out.push({ source, from: a, to: b });
  };
  const minutes = (a: number, b: number) => {
    const start = ceilTo(a, MINUTE);
    const end = Math.min(floorTo(b, MINUTE), minuteMark);
    if (start >= end) return push('raw', a, b);
    push('raw', a, start);
    push('minute', start, end);
    push('raw', end, b);
  };
  const start = ceilTo(from, HOUR);
  const end = Math.min(floorTo(to, HOUR), hourMark);
  if (start >= end) {
    minutes(from, to);
    return out;
  }
  minutes(from, start);
  push('hour', start, end);
  minutes(end, to);
  return out;
}
