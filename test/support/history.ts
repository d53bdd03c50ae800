import type { WriteBatch } from '../../src/monitor/store/index.js';
import { random } from './random.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** 90 days of history for `component`: incidents every few days, a gap now and then, 24 h of checks. */
export function history(component: string, now: number, seed: number): WriteBatch {
  const rnd = random(seed);
  const first = now - 91 * DAY;
  const batch: WriteBatch = { checks: [], opened: [], resolved: [], gaps: [], states: [] };
  for (let t = first + DAY * rnd(); t < now - 3 * HOUR; t += DAY * (1 + 4 * rnd())) {
    const start = Math.round(t);
    const end = Math.round(start + 60_000 * (2 + 90 * rnd()));
    batch.opened.push({ component, start, error: 'expected status 200, got 503' });
    batch.resolved.push({ component, start, end });
    if (rnd() < 0.2) batch.gaps.push({ component, from: end + HOUR, to: end + HOUR + 60_000 * (5 + 60 * rnd()) });
  }
  for (let t = now - DAY; t < now - 60_000; t += 5 * 60_000) {
    batch.checks.push({ component, time: t, durationMs: Math.round(5 + 40 * rnd() ** 3), status: 'healthy' });
  }
  const tracker = { openSince: undefined, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };
  batch.states.push({ component, firstCheckAt: first, lastCheckAt: now - 60_000, tracker });
  return batch;
}
