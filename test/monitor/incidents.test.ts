import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OpenRule } from '../../src/config/confirm.js';
import { FlapDetector } from '../../src/monitor/flapping.js';
import { gapBetween, type IncidentEvent, IncidentTracker, readRecent } from '../../src/monitor/incidents.js';

/** Feeds "F"/"P" characters one per 10 ms, starting at t=0; returns the events with their times. */
function run(tracker: IncidentTracker, script: string, t0 = 0): IncidentEvent[] {
  return [...script].map((c, i) => tracker.observe({ time: t0 + i * 10, failed: c === 'F' })).filter((e) => e !== undefined);
}

describe('IncidentTracker (design.md §3)', () => {
  it('opens after exactly failuresToOpen consecutive failures, starting at the first of them', () => {
    const t = new IncidentTracker({ failuresToOpen: 3, successesToResolve: 2 });
    expect(run(t, 'PFFP')).toEqual([]);
    expect(run(t, 'FF', 100)).toEqual([]);
    expect(run(t, 'F', 120)).toEqual([{ type: 'opened', start: 100 }]);
    expect(t.openSince).toBe(100);
  });

  it('resolves after successesToResolve consecutive passes, ending at the first of them', () => {
    const t = new IncidentTracker({ failuresToOpen: 1, successesToResolve: 3 });
    expect(run(t, 'FPPFPPP')).toEqual([
      { type: 'opened', start: 0 },
      { type: 'resolved', start: 0, end: 40 },
    ]);
    expect(t.openSince).toBeUndefined();
  });

  it('keeps an open incident across a restart through its state', () => {
    const a = new IncidentTracker({ failuresToOpen: 2, successesToResolve: 2 });
    run(a, 'FFFP');
    const b = new IncidentTracker({ failuresToOpen: 2, successesToResolve: 2 }, JSON.parse(JSON.stringify(a.state)));
    expect(b.openSince).toBe(0);
    expect(run(b, 'P', 40)).toEqual([{ type: 'resolved', start: 0, end: 30 }]);
  });

  it('validates its options', () => {
    expect(() => new IncidentTracker({ failuresToOpen: 0, successesToResolve: 1 })).toThrow(/^failuresToOpen/);
    expect(() => new IncidentTracker({ failuresToOpen: 1, successesToResolve: 1.5 })).toThrow(/^successesToResolve/);
  });
});

describe('IncidentTracker: "N of M"', () => {
  const threeOfFive = { failuresToOpen: { failures: 3, of: 5 }, successesToResolve: 2 };

  it('opens at the Nth failure among the last M results, starting at the first failure of the episode', () => {
    expect(run(new IncidentTracker(threeOfFive), 'FPFPF')).toEqual([{ type: 'opened', start: 0 }]);
    // PP would have resolved an open incident, so the failure before it is not part of this one
    expect(run(new IncidentTracker(threeOfFive), 'FPPFF')).toEqual([{ type: 'opened', start: 30 }]);
    // the first F has left the window when the third arrives
    expect(run(new IncidentTracker(threeOfFive), 'FPFPPPFP')).toEqual([]);
  });

  it('follows successesToResolve for the start too: with 1, every pass is a recovery', () => {
    const t = new IncidentTracker({ failuresToOpen: { failures: 3, of: 5 }, successesToResolve: 1 });
    expect(run(t, 'FPFPF')).toEqual([{ type: 'opened', start: 40 }]);
    const slow = new IncidentTracker({ failuresToOpen: { failures: 3, of: 5 }, successesToResolve: { forMs: 20 } });
    // passes at 10 and 20 span 10 ms (< 20 ms: no recovery); at 40, 50, 60 they span 20 ms (a recovery)
    expect(run(slow, 'FPPFPPPF')).toEqual([]);
    expect(run(new IncidentTracker({ ...threeOfFive, successesToResolve: { forMs: 20 } }), 'FPPFF')).toEqual([
      { type: 'opened', start: 0 },
    ]);
  });

  it('resolves by successesToResolve, and counts the next incident from the results after the last one opened', () => {
    const t = new IncidentTracker(threeOfFive);
    expect(run(t, 'FPFPF' + 'PFPP' + 'FF' + 'F')).toEqual([
      { type: 'opened', start: 0 },
      { type: 'resolved', start: 0, end: 70 },
      { type: 'opened', start: 90 },
    ]);
  });

  it('keeps a forming window across a restart; an old state without one starts an empty window', () => {
    const a = new IncidentTracker(threeOfFive);
    run(a, 'FPF');
    const stored = JSON.parse(JSON.stringify(a.state));
    const b = new IncidentTracker(threeOfFive, { ...stored, recent: readRecent(stored.recent) });
    expect(run(b, 'PF', 30)).toEqual([{ type: 'opened', start: 0 }]);
    const old = new IncidentTracker(threeOfFive, {
      openSince: undefined,
      failures: 2,
      failingSince: 0,
      passes: 0,
      passingSince: undefined,
    });
    expect(run(old, 'FF', 30)).toEqual([]);
    expect(run(old, 'F', 50)).toEqual([{ type: 'opened', start: 30 }]);
  });

  it('reads stored windows defensively', () => {
    expect(readRecent(undefined)).toBeUndefined();
    expect(readRecent([])).toBeUndefined();
    expect(readRecent([[1, 1], [2, 'x'], 'y', [Number.NaN, 0], [3, 0]])).toEqual([
      [1, 1],
      [3, 0],
    ]);
  });

  it('"N of N" is the integer N', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[FP]{0,40}$/), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), (script, n, k) => {
        const window = new IncidentTracker({ failuresToOpen: { failures: n, of: n }, successesToResolve: k });
        const count = new IncidentTracker({ failuresToOpen: n, successesToResolve: k });
        expect(run(window, script)).toEqual(run(count, script));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with a reference on random scripts', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[FP]{0,60}$/),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (script, n, extra, k) => {
          const rule: OpenRule = { failures: n, of: n + extra };
          expect(run(new IncidentTracker({ failuresToOpen: rule, successesToResolve: k }), script)).toEqual(
            reference(script, n, n + extra, k),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** "N of M" written the plain way, on strings: the episode starts at the first F after which no k passes follow in a row. */
function reference(script: string, n: number, m: number, k: number): IncidentEvent[] {
  const events: IncidentEvent[] = [];
  let since = 0; // index of the first result that counts toward the next incident
  let open: number | undefined;
  let passes = 0;
  for (let i = 0; i < script.length; i++) {
    if (open === undefined) {
      const from = Math.max(since, i + 1 - m);
      const window = script.slice(from, i + 1);
      if ([...window].filter((c) => c === 'F').length < n) continue;
      const first = [...window].findIndex((c, j) => c === 'F' && !window.slice(j).includes('P'.repeat(k)));
      open = (from + first) * 10;
      events.push({ type: 'opened', start: open });
      passes = 0;
    } else {
      passes = script[i] === 'P' ? passes + 1 : 0;
      if (passes < k) continue;
      events.push({ type: 'resolved', start: open, end: (i - k + 1) * 10 });
      open = undefined;
      since = i + 1;
    }
  }
  return events;
}

describe('IncidentTracker: "for <duration>"', () => {
  it('opens once the first and latest failure of an unbroken streak started forMs apart, starting at the first', () => {
    const t = new IncidentTracker({ failuresToOpen: { forMs: 25 }, successesToResolve: 2 });
    expect(run(t, 'FFFP')).toEqual([]); // 20 ms, then a pass breaks the streak
    expect(run(t, 'FFF', 100)).toEqual([]);
    expect(run(t, 'F', 130)).toEqual([{ type: 'opened', start: 100 }]);
  });

  it('measures time, not results: a longer interval needs fewer failures', () => {
    const t = new IncidentTracker({ failuresToOpen: { forMs: 60_000 }, successesToResolve: 1 });
    expect(t.observe({ time: 0, failed: true })).toBeUndefined();
    expect(t.observe({ time: 30_000, failed: true })).toBeUndefined();
    expect(t.observe({ time: 60_000, failed: true })).toEqual({ type: 'opened', start: 0 });
  });

  it('resolves once passing for forMs, ending at the first pass; a failure restarts the count', () => {
    const t = new IncidentTracker({ failuresToOpen: 1, successesToResolve: { forMs: 20 } });
    expect(run(t, 'FPPFPPP')).toEqual([
      { type: 'opened', start: 0 },
      { type: 'resolved', start: 0, end: 40 },
    ]);
  });

  it('keeps a forming streak across a restart', () => {
    const rules = { failuresToOpen: { forMs: 30 }, successesToResolve: 2 };
    const a = new IncidentTracker(rules);
    run(a, 'PFF');
    const b = new IncidentTracker(rules, JSON.parse(JSON.stringify(a.state)));
    expect(run(b, 'FF', 30)).toEqual([{ type: 'opened', start: 10 }]);
  });

  it('validates the rules', () => {
    expect(() => new IncidentTracker({ failuresToOpen: { forMs: 0 }, successesToResolve: 1 })).toThrow(/^failuresToOpen\.forMs/);
    expect(() => new IncidentTracker({ failuresToOpen: { failures: 4, of: 3 }, successesToResolve: 1 })).toThrow(/^failuresToOpen\.of/);
    expect(() => new IncidentTracker({ failuresToOpen: { failures: 1, of: 101 }, successesToResolve: 1 })).toThrow(/^failuresToOpen\.of/);
    const window = { failures: 1, of: 2 } as unknown as number;
    expect(() => new IncidentTracker({ failuresToOpen: 1, successesToResolve: window })).toThrow(/^successesToResolve/);
  });
});

describe('IncidentTracker with confirm (the HA quorum)', () => {
  const rules = { failuresToOpen: 3, successesToResolve: 2, confirm: true };

  it("leaves the opening it reaches pending, with the streak's start, until confirm() applies it", () => {
    const t = new IncidentTracker(rules);
    expect(run(t, 'FF')).toEqual([]);
    expect(t.pending).toBeUndefined();
    expect(run(t, 'F', 20)).toEqual([]);
    expect(t.pending).toEqual({ type: 'open', at: 0 });
    expect(t.openSince).toBeUndefined();
    // still failing: still pending, from the same start
    expect(run(t, 'F', 30)).toEqual([]);
    expect(t.pending).toEqual({ type: 'open', at: 0 });
    expect(t.confirm('resolve')).toBeUndefined(); // not the change that is pending
    expect(t.confirm('open')).toEqual({ type: 'opened', start: 0 });
    expect(t.openSince).toBe(0);
    expect(t.pending).toBeUndefined();
  });

  it('drops a pending change the next observation no longer reaches: a confirmation that comes later applies nothing', () => {
    const t = new IncidentTracker(rules);
    run(t, 'FFFP');
    expect(t.pending).toBeUndefined();
    expect(t.confirm('open')).toBeUndefined();
    expect(t.openSince).toBeUndefined();
    // a new streak starts from its own first failure
    expect(run(t, 'FFF', 100)).toEqual([]);
    expect(t.pending).toEqual({ type: 'open', at: 100 });
  });

  it('holds a resolution pending with its end, and keeps the incident open until confirmed', () => {
    const t = new IncidentTracker(rules);
    run(t, 'FFF');
    t.confirm('open');
    expect(run(t, 'PP', 30)).toEqual([]);
    expect(t.pending).toEqual({ type: 'resolve', at: 30 });
    expect(t.openSince).toBe(0);
    run(t, 'P', 50);
    expect(t.pending).toEqual({ type: 'resolve', at: 30 });
    expect(t.confirm('resolve')).toEqual({ type: 'resolved', start: 0, end: 30 });
    expect(t.openSince).toBeUndefined();
  });

  it('opens and resolves as the plain tracker does when every change is confirmed at once', () => {
    const script = fc.array(fc.boolean(), { maxLength: 60 });
    const rule = fc.oneof(
      fc.integer({ min: 1, max: 4 }),
      fc.record({ forMs: fc.integer({ min: 1, max: 50 }) }),
      fc
        .integer({ min: 1, max: 4 })
        .chain((failures) => fc.record({ failures: fc.constant(failures), of: fc.integer({ min: failures, max: 6 }) })),
    );
    fc.assert(
      fc.property(script, rule, fc.integer({ min: 1, max: 3 }), (failed, failuresToOpen, successesToResolve) => {
        const plain = new IncidentTracker({ failuresToOpen: failuresToOpen as OpenRule, successesToResolve });
        const held = new IncidentTracker({ failuresToOpen: failuresToOpen as OpenRule, successesToResolve, confirm: true });
        failed.forEach((f, i) => {
          const o = { time: i * 10, failed: f };
          const expected = plain.observe(o);
          expect(held.observe(o)).toBeUndefined();
          const p = held.pending;
          expect(p === undefined ? undefined : held.confirm(p.type)).toEqual(expected);
        });
      }),
    );
  });
});

describe('gapBetween', () => {
  it('is the time past staleAfter with no result', () => {
    expect(gapBetween(1000, 1500, 600)).toBeUndefined();
    expect(gapBetween(1000, 1600, 600)).toBeUndefined();
    expect(gapBetween(1000, 5000, 600)).toEqual({ from: 1600, to: 5000 });
  });
});

describe('FlapDetector', () => {
  it('flaps when state changes exceed the threshold within the window, and calms down after', () => {
    const d = new FlapDetector({ threshold: 3, window: 1000 });
    const states = [false, true, false, true, false];
    const flapping = states.map((failed, i) => d.observe(i * 100, failed));
    expect(flapping).toEqual([false, false, false, false, true]); // 4 changes > 3
    expect(d.flapping(1099)).toBe(true);
    expect(d.flapping(1100)).toBe(false); // the change at 100 left the window
  });
});
