/** How the status page writes figures. UTC throughout, so everyone reads the same day. */

/**
 * A ratio as a percentage with two decimals, rounded down so that "100 %" means no downtime at
 * all and 99.999 % never shows as 100; `—` when nothing was observed.
 */
export function percent(ratio: number | null): string {
  if (ratio === null) return '—';
  if (ratio >= 1) return '100 %';
  return `${(Math.floor(ratio * 10_000 + 1e-9) / 100).toFixed(2)} %`;
}

/** A length of time in the two largest units: `0 s`, `43 s`, `12 min 5 s`, `2 h 5 min`, `3 d 4 h`. */
export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const units: Array<[number, string]> = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || parts.length > 0) parts.push(`${n} ${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0 ')).join(' ');
}

/** `2026-11-24` of epoch ms, UTC. */
export function date(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `2026-11-24 15:30:02 UTC`. */
export function dateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `15:30` of epoch ms, UTC. */
export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** Milliseconds, rounded, with the unit; `—` when unknown. */
export function millis(ms: number | null): string {
  return ms === null ? '—' : `${Math.round(ms)} ms`;
}
