import { describe, expect, it } from 'vitest';
import { FlapDetector } from '../../src/monitor/flapping.js';
import { gapBetween, type IncidentEvent, IncidentTracker } from '../../src/monitor/incidents.js';

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
