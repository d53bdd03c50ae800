import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { burnRate, errorBudget, type Span, type Timeline, windowFigures } from '../../src/monitor/figures.js';
import { gapBetween, IncidentTracker } from '../../src/monitor/incidents.js';

const H = 3_600_000;

describe('windowFigures (design.md §3)', () => {
  const timeline: Timeline = {
    firstCheckAt: 1 * H,
    gaps: [{ from: 5 * H, to: 6 * H }],
    incidents: [
      { start: 2 * H, end: 3 * H },
      { start: 4.5 * H, end: 7 * H }, // 1 h of it falls in the gap
    ],
  };

  it('splits a window into up, down and unobserved time', () => {
    const f = windowFigures(timeline, { from: 0, to: 10 * H }, 10 * H);
    expect(f).toMatchObject({
      observedMs: 8 * H, // 0–1 h before the first check and 5–6 h in the gap are unobserved
      unobservedMs: 2 * H,
      downMs: 2.5 * H, // 1 h + (2.5 h − 1 h in the gap)
      upMs: 5.5 * H,
      incidentsStarted: 2,
      incidentsResolved: 2,
      mttrMs: 1.25 * H, // (1 h + 1.5 h) / 2
      mtbfMs: 2.75 * H, // 5.5 h up / 2 incidents
    });
    expect(f.availability).toBeCloseTo(5.5 / 8, 12);
  });

  it('counts an open incident until now, clips the window at now, and attributes incidents to the window they start or end in', () => {
    const open: Timeline = { firstCheckAt: 0, gaps: [], incidents: [{ start: 8 * H }] };
    const f = windowFigures(open, { from: 6 * H, to: 24 * H }, 9 * H);
    expect(f).toMatchObject({
      from: 6 * H,
      to: 9 * H,
      observedMs: 3 * H,
      downMs: 1 * H,
      upMs: 2 * H,
      incidentsStarted: 1,
      incidentsResolved: 0,
      mttrMs: null,
    });
    const before = windowFigures(timeline, { from: 2.5 * H, to: 4 * H }, 10 * H);
    expect(before).toMatchObject({ downMs: 0.5 * H, incidentsStarted: 0, incidentsResolved: 1, mtbfMs: null, mttrMs: 1 * H });
  });

  it('has no availability when nothing was observed, and treats a stale last result as an open gap', () => {
    expect(windowFigures({ firstCheckAt: undefined, gaps: [], incidents: [] }, { from: 0, to: H }, H).availability).toBeNull();
    const stale: Timeline = { firstCheckAt: 0, gaps: [], incidents: [], lastCheckAt: 1 * H, staleAfter: 60_000 };
    const f = windowFigures(stale, { from: 0, to: 2 * H }, 2 * H);
    expect(f.observedMs).toBe(1 * H + 60_000);
    expect(f.unobservedMs).toBe(1 * H - 60_000);
  });

  it('error budget and burn rate', () => {
    const month = 30 * 24 * H;
    const { budgetMs, remaining } = errorBudget(99.9, month, 0.25 * 43.2 * 60_000);
    expect(budgetMs).toBeCloseTo(43.2 * 60_000, 6); // 43.2 minutes a month at 99.9 %
    expect(remaining).toBeCloseTo(0.75, 12);
    expect(errorBudget(99.9, month, 2 * budgetMs).remaining).toBeCloseTo(-1, 12);
    expect(burnRate(99.9, { downMs: 36_000, observedMs: H })).toBeCloseTo(10, 9); // 1 % down where 0.1 % is allowed
    expect(burnRate(99.9, { downMs: 0, observedMs: 0 })).toBeNull();
  });
});

/**
 * The reference: classifies every millisecond straight from the raw observations, with its own
 * scan for incidents, so the tracker + gaps + windowFigures pipeline is checked against something
 * written another way.
 */
function reference(obs: Array<{ time: number; failed: boolean }>, N: number, M: number, stale: number, window: Span, now: number) {
  const incidents: Span[] = [];
  let i = 0;
  while (i < obs.length) {
    let j = i;
    while (j < obs.length && obs[j]?.failed) j++;
    if (j - i >= N) {
      // the incident opens at obs[i]; find the first run of M passes after the opening
      let k = i + N;
      let end = now;
      let resume = obs.length;
      while (k < obs.length) {
        let p = k;
        while (p < obs.length && !obs[p]?.failed) p++;
        if (p - k >= M) {
          end = obs[k]?.time ?? now;
          resume = k + M;
          break;
        }
        k = p === k ? k + 1 : p;
      }
      incidents.push({ from: obs[i]?.time ?? 0, to: end });
      i = resume;
    } else i = j === i ? i + 1 : j;
  }
  let up = 0;
  let down = 0;
  const to = Math.min(window.to, now);
  for (let t = window.from; t < to; t++) {
    let last = -1;
    for (const [idx, o] of obs.entries()) if (o.time <= t) last = idx;
    const prev = obs[last];
    if (prev === undefined || t >= prev.time + stale) continue; // unobserved
    if (incidents.some((s) => t >= s.from && t < s.to)) down++;
    else up++;
  }
  return { up, down };
}

describe('figures against a per-millisecond reference', () => {
  it('agree for random histories, gaps and windows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ step: fc.integer({ min: 1, max: 40 }), failed: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 0, max: 600 }),
        (steps, N, M, a, b) => {
          const stale = 15;
          let time = 0;
          const obs = steps.map((s) => {
            time += s.step;
            return { time, failed: s.failed };
          });
          const now = time + 20;
          const tracker = new IncidentTracker({ failuresToOpen: N, successesToResolve: M });
          const incidents: Array<{ start: number; end?: number }> = [];
          const gaps: Span[] = [];
          let prev: number | undefined;
          for (const o of obs) {
            if (prev !== undefined) {
              const gap = gapBetween(prev, o.time, stale);
              if (gap) gaps.push(gap);
            }
            prev = o.time;
            const e = tracker.observe(o);
            if (e?.type === 'opened') incidents.push({ start: e.start });
            if (e?.type === 'resolved') {
              const last = incidents.at(-1);
              if (last) last.end = e.end;
            }
          }
          const window = { from: Math.min(a, b), to: Math.max(a, b) + 1 };
          const timeline: Timeline = { firstCheckAt: obs[0]?.time, gaps, incidents, lastCheckAt: prev, staleAfter: stale };
          const f = windowFigures(timeline, window, now);
          const r = reference(obs, N, M, stale, window, now);
          expect([f.upMs, f.downMs]).toEqual([r.up, r.down]);
          expect(f.observedMs + f.unobservedMs).toBe(Math.max(0, Math.min(window.to, now) - window.from));
        },
      ),
      { numRuns: 300 },
    );
  });
});
