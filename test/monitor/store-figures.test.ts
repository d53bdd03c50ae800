import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/monitor/store/index.js';
import { dailyFigures, storedFigures } from '../../src/monitor/store-figures.js';
import { random } from '../support/random.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('dailyFigures', () => {
  it('gives each day the figures storedFigures gives for that day, incidents and gaps across midnight included', async () => {
    const store = await openStore('sqlite::memory:');
    await store.migrate();
    const now = Date.UTC(2026, 10, 24, 15, 30);
    const start = now - 40 * DAY; // the history begins before the 30 days asked for
    const rnd = random(7);
    const opened: Array<{ component: string; start: number }> = [];
    const resolved: Array<{ component: string; start: number; end: number }> = [];
    const gaps: Array<{ component: string; from: number; to: number }> = [];
    let t = start + HOUR;
    while (t < now - 2 * HOUR) {
      const length = rnd() < 0.2 ? 2 * DAY * rnd() : 2 * HOUR * rnd(); // some span midnights, one or more
      opened.push({ component: 'api', start: t });
      resolved.push({ component: 'api', start: t, end: Math.round(t + length) });
      if (rnd() < 0.5) gaps.push({ component: 'api', from: Math.round(t + length * 0.25), to: Math.round(t + length * 0.5) });
      const end = t + length;
      t = Math.round(end + DAY * rnd() * 2);
      if (rnd() < 0.3 && t - 3 * HOUR > end) {
        gaps.push({ component: 'api', from: t - 3 * HOUR, to: t - HOUR }); // monitor down between incidents
      }
    }
    opened.push({ component: 'api', start: now - HOUR }); // still open
    const tracker = { openSince: now - HOUR, failures: 0, failingSince: undefined, passes: 0, passingSince: undefined };
    await store.write({
      checks: [],
      opened,
      resolved,
      gaps,
      states: [{ component: 'api', firstCheckAt: start, lastCheckAt: now - 1_000, tracker }],
    });
    const times = { firstCheckAt: start, lastCheckAt: now - 1_000 };
    const days = await dailyFigures(store, 'api', 60_000, times, 30, now);
    expect(days).toHaveLength(30);
    expect(days.at(-1)?.day.from).toBe(Date.UTC(2026, 10, 24));
    let withIncidents = 0;
    for (const d of days) {
      expect(d.figures).toEqual(await storedFigures(store, 'api', 60_000, times, d.day, now));
      if (d.incidents.length > 0) withIncidents++;
      for (const i of d.incidents) expect(i.start < d.day.to && (i.end ?? now) > d.day.from).toBe(true);
    }
    expect(withIncidents).toBeGreaterThan(5);
    // the history holds incidents longer than a day, and midnights inside incidents
    expect(days.some((d) => d.incidents.some((i) => i.end !== null && i.end - i.start > DAY))).toBe(true);
    expect(days.filter((d) => d.incidents.some((i) => i.start < d.day.from)).length).toBeGreaterThanOrEqual(2);
    await store.close();
  });
});
