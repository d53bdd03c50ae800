import { describe, expect, it } from 'vitest';
import { AlertBook, type AlertCandidate, fingerprint } from '../../src/alerts/lifecycle.js';

const MINUTE = 60_000;
const labels = { alertname: 'NinesErrorBudgetBurn', severity: 'page', slo: 'api', component: 'api' };
const candidate = (holds: boolean, forMs = 0): AlertCandidate => ({ labels, annotations: { summary: 's' }, holds, forMs });
const kinds = (r: { events: Array<{ kind: string }> }) => r.events.map((e) => e.kind);

describe('AlertBook: pending → firing → resolved', () => {
  it('fingerprints a label set whatever the key order, and tells label sets apart', () => {
    expect(fingerprint({ a: '1', b: '2' })).toBe(fingerprint({ b: '2', a: '1' }));
    expect(fingerprint({ a: '1', b: '2' })).not.toBe(fingerprint({ a: '1', b: '3' }));
    expect(fingerprint({ a: '1', b: '2' })).toMatch(/^[0-9a-f]{16}$/);
  });

  it('fires at once without for; announces it once; resolves at the first evaluation it no longer holds', () => {
    const book = new AlertBook([], { repeatIntervalMs: 4 * 60 * MINUTE });
    const t0 = 1_000_000;
    const first = book.evaluate([candidate(true)], t0);
    expect(kinds(first)).toEqual(['firing']);
    expect(first.changed).toMatchObject([{ state: 'firing', activeAt: t0, firedAt: t0, sentAt: t0 }]);
    expect(kinds(book.evaluate([candidate(true)], t0 + MINUTE))).toEqual([]); // still firing: nothing new
    const end = book.evaluate([candidate(false)], t0 + 2 * MINUTE);
    expect(kinds(end)).toEqual(['resolved']);
    expect(end.removed).toEqual([fingerprint(labels)]);
    expect(book.active()).toEqual([]);
  });

  it('stays pending for `for`, and a pending alert that stops holding goes unannounced', () => {
    const book = new AlertBook([], { repeatIntervalMs: 60 * MINUTE });
    const t0 = 5_000_000;
    expect(kinds(book.evaluate([candidate(true, 2 * MINUTE)], t0))).toEqual([]);
    expect(book.active()).toMatchObject([{ state: 'pending', activeAt: t0 }]);
    expect(kinds(book.evaluate([candidate(true, 2 * MINUTE)], t0 + 2 * MINUTE - 1))).toEqual([]);
    expect(kinds(book.evaluate([candidate(true, 2 * MINUTE)], t0 + 2 * MINUTE))).toEqual(['firing']);
    const other = new AlertBook([], { repeatIntervalMs: 60 * MINUTE });
    other.evaluate([candidate(true, 2 * MINUTE)], t0);
    const gone = other.evaluate([candidate(false, 2 * MINUTE)], t0 + MINUTE);
    expect(kinds(gone)).toEqual([]);
    expect(gone.removed).toHaveLength(1);
  });

  it('reminds every repeatInterval while firing, counted from the last announcement', () => {
    const book = new AlertBook([], { repeatIntervalMs: 30 * MINUTE });
    const t0 = 9_000_000;
    book.evaluate([candidate(true)], t0);
    expect(kinds(book.evaluate([candidate(true)], t0 + 30 * MINUTE - 1))).toEqual([]);
    expect(kinds(book.evaluate([candidate(true)], t0 + 30 * MINUTE))).toEqual(['repeat']);
    expect(kinds(book.evaluate([candidate(true)], t0 + 59 * MINUTE))).toEqual([]);
    expect(kinds(book.evaluate([candidate(true)], t0 + 60 * MINUTE))).toEqual(['repeat']);
  });

  it('picks up where the store left off: a firing alert is neither re-announced nor forgotten after a restart', () => {
    const t0 = 20_000_000;
    const before = new AlertBook([], { repeatIntervalMs: 60 * MINUTE });
    before.evaluate([candidate(true)], t0);
    const kept = before.active();
    const after = new AlertBook(kept, { repeatIntervalMs: 60 * MINUTE });
    expect(kinds(after.evaluate([candidate(true)], t0 + 10 * MINUTE))).toEqual([]);
    expect(kinds(after.evaluate([candidate(true)], t0 + 60 * MINUTE))).toEqual(['repeat']);
    expect(kinds(after.evaluate([candidate(false)], t0 + 61 * MINUTE))).toEqual(['resolved']);
  });

  it('sends no reminder while acknowledged, yet fires and resolves; reminders resume from the last announcement after', () => {
    const book = new AlertBook([], { repeatIntervalMs: 30 * MINUTE });
    const acked = { ...candidate(true), acknowledged: true };
    const t0 = 40_000_000;
    expect(kinds(book.evaluate([acked], t0))).toEqual(['firing']); // a new alert is news, acknowledged or not
    expect(kinds(book.evaluate([acked], t0 + 30 * MINUTE))).toEqual([]);
    expect(book.evaluate([acked], t0 + 5 * 60 * MINUTE).changed).toEqual([]); // nothing to store either
    expect(kinds(book.evaluate([candidate(true)], t0 + 5 * 60 * MINUTE + 1))).toEqual(['repeat']); // its incident is over
    expect(kinds(book.evaluate([{ ...acked, holds: false }], t0 + 6 * 60 * MINUTE))).toEqual(['resolved']);
  });

  it('leaves an alert as it is while its rule cannot tell (figures still loading)', () => {
    const book = new AlertBook([], { repeatIntervalMs: 60 * MINUTE });
    book.evaluate([candidate(true)], 1);
    const unknown = book.evaluate([{ ...candidate(true), holds: undefined }], 2);
    expect(unknown).toEqual({ events: [], changed: [], removed: [] });
    expect(book.active()).toMatchObject([{ state: 'firing' }]);
  });

  it('resolves an alert whose rule is gone (removed by a reload)', () => {
    const book = new AlertBook([], { repeatIntervalMs: 60 * MINUTE });
    book.evaluate([candidate(true)], 1);
    const r = book.evaluate([], 2);
    expect(kinds(r)).toEqual(['resolved']);
    expect(book.active()).toEqual([]);
  });
});

describe('AlertBook: silenced alerts (silences and maintenance)', () => {
  const silenced = (holds: boolean, by = ['silence:1']): AlertCandidate => ({ ...candidate(holds), silencedBy: by });

  it('fires silently, says what silences it, and announces once the silence ends if it still fires', () => {
    const book = new AlertBook([], { repeatIntervalMs: 10 * MINUTE });
    const t0 = 2_000_000;
    const first = book.evaluate([silenced(true)], t0);
    expect(kinds(first)).toEqual([]);
    expect(first.changed).toMatchObject([{ state: 'firing', firedAt: t0 }]);
    expect(first.changed[0]?.sentAt).toBeUndefined();
    expect(book.active()).toMatchObject([{ state: 'firing', silencedBy: ['silence:1'] }]);
    // no reminders while silenced, however long
    expect(kinds(book.evaluate([silenced(true)], t0 + 30 * MINUTE))).toEqual([]);
    const after = book.evaluate([candidate(true)], t0 + 31 * MINUTE);
    expect(after.events).toMatchObject([{ kind: 'firing', at: t0 + 31 * MINUTE, alert: { firedAt: t0 } }]);
    expect(book.active()[0]?.silencedBy).toBeUndefined();
    // reminders count from that announcement
    expect(kinds(book.evaluate([candidate(true)], t0 + 40 * MINUTE))).toEqual([]);
    expect(kinds(book.evaluate([candidate(true)], t0 + 41 * MINUTE))).toEqual(['repeat']);
    expect(kinds(book.evaluate([candidate(false)], t0 + 42 * MINUTE))).toEqual(['resolved']);
  });

  it('never announces the resolution of a firing nobody was told of', () => {
    const book = new AlertBook([], { repeatIntervalMs: 10 * MINUTE });
    book.evaluate([silenced(true, ['maintenance:db-upgrade'])], 0);
    const end = book.evaluate([silenced(false, ['maintenance:db-upgrade'])], MINUTE);
    expect(kinds(end)).toEqual([]);
    expect(end.removed).toEqual([fingerprint(labels)]);
    const late = new AlertBook([], { repeatIntervalMs: 10 * MINUTE });
    late.evaluate([silenced(true)], 0);
    expect(kinds(late.evaluate([candidate(false)], MINUTE))).toEqual([]); // silence ended as it resolved
  });

  it('announces the resolution of an alert silenced after it was announced, and stops its reminders meanwhile', () => {
    const book = new AlertBook([], { repeatIntervalMs: 10 * MINUTE });
    expect(kinds(book.evaluate([candidate(true)], 0))).toEqual(['firing']);
    expect(kinds(book.evaluate([silenced(true)], 20 * MINUTE))).toEqual([]);
    expect(kinds(book.evaluate([silenced(false)], 21 * MINUTE))).toEqual(['resolved']);
  });
});
