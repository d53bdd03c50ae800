import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { ejectionTime, maxEjections, OutlierDetector, type OutlierState } from '../../src/failover/ejection.js';

describe('maxEjections', () => {
  it('1 to 10 hosts at the default 50 %: one of three may always go, never the only host', () => {
    // hosts -> ejectable. Envoy's default (10 %) gives 0 for every row below 10 (its issues #26877, #27066).
    const golden = [
      [1, 0],
      [2, 1],
      [3, 1],
      [4, 2],
      [5, 2],
      [6, 3],
      [7, 3],
      [8, 4],
      [9, 4],
      [10, 5],
    ];
    expect(golden.map(([n]) => [n, maxEjections(n as number)])).toEqual(golden);
  });

  it('a small percent still allows one of three; 0 % allows none; 100 % allows all', () => {
    expect([1, 2, 3, 9, 10, 20].map((n) => maxEjections(n, 10))).toEqual([0, 0, 1, 1, 1, 2]);
    expect([1, 3, 10].map((n) => maxEjections(n, 0))).toEqual([0, 0, 0]);
    expect([1, 3].map((n) => maxEjections(n, 100))).toEqual([1, 3]);
    expect(maxEjections(0)).toBe(0);
  });
});

describe('ejectionTime', () => {
  it('base × n, capped, plus jitter from the injected random', () => {
    const opts = { baseEjectionMs: 30_000, maxEjectionMs: 100_000, jitter: 0 };
    expect([1, 2, 3, 4, 10].map((n) => ejectionTime(n, opts))).toEqual([30_000, 60_000, 90_000, 100_000, 100_000]);
    expect(ejectionTime(1, { jitter: 0.1, random: () => 0.5 })).toBe(31_500);
    expect(ejectionTime(20, { random: () => 0.999 })).toBe(300_000 + 29_970);
  });
});

function setup(hosts: string[], options: ConstructorParameters<typeof OutlierDetector>[0] = {}) {
  const clock = new ManualClock();
  const changes: [number, string, OutlierState, string | undefined][] = [];
  const detector = new OutlierDetector({
    clock,
    jitter: 0,
    onChange: (host, state, reason) => changes.push([clock.now(), host, state, reason]),
    ...options,
  });
  for (const h of hosts) detector.add(h);
  return { clock, detector, changes };
}

describe('OutlierDetector', () => {
  it('healthy -> ejected -> slow start -> full weight; a second ejection lasts twice as long; the cap', async () => {
    const { clock, detector, changes } = setup(['a', 'b', 'c'], { maxEjectionMs: 60_000 });
    for (let i = 0; i < 4; i++) expect(detector.record('a', { status: 500 })).toBe(false);
    expect(detector.state('a')).toBe('healthy');
    expect(detector.record('a', { status: 500 })).toBe(true);
    expect([detector.state('a'), detector.weight('a'), detector.ejections('a')]).toEqual(['ejected', 0, 1]);

    await clock.advance(29_999);
    expect(detector.state('a')).toBe('ejected');
    await clock.advance(1); // exactly base × 1
    expect(detector.state('a')).toBe('slow-start');
    expect(detector.weight('a')).toBeCloseTo(0.1);
    await clock.advance(15_000); // half the window: 0.1 + 0.9 / 2
    expect(detector.weight('a')).toBeCloseTo(0.55);
    await clock.advance(15_000);
    expect([detector.state('a'), detector.weight('a')]).toEqual(['healthy', 1]);

    for (let i = 0; i < 5; i++) detector.record('a', { error: true });
    await clock.advance(59_999);
    expect(detector.state('a')).toBe('ejected');
    await clock.advance(1); // base × 2
    expect(detector.state('a')).toBe('slow-start');
    await clock.advance(30_000);

    for (let i = 0; i < 5; i++) detector.record('a', { status: 503 });
    await clock.advance(60_000); // base × 3 = 90 s, capped at 60 s
    expect(detector.state('a')).toBe('slow-start');

    expect(changes).toEqual([
      [0, 'a', 'ejected', 'consecutive-failures'],
      [30_000, 'a', 'slow-start', undefined],
      [60_000, 'a', 'healthy', undefined],
      [60_000, 'a', 'ejected', 'consecutive-gateway-failures'],
      [120_000, 'a', 'slow-start', undefined],
      [150_000, 'a', 'healthy', undefined],
      [150_000, 'a', 'ejected', 'consecutive-gateway-failures'],
      [210_000, 'a', 'slow-start', undefined],
    ]);
  });

  it('the ejection count decays by one per base time back in rotation, so old ejections stop lengthening new ones', async () => {
    const { clock, detector } = setup(['a', 'b', 'c'], { slowStartMs: 0 });
    const eject = () => {
      for (let i = 0; i < 5; i++) detector.record('a', { error: true });
    };
    eject();
    await clock.advance(30_000); // back after base × 1
    eject();
    expect(detector.ejections('a')).toBe(2); // came straight back: 60 s
    await clock.advance(60_000);
    expect(detector.state('a')).toBe('healthy');
    await clock.advance(29_999);
    expect(detector.ejections('a')).toBe(2);
    await clock.advance(1);
    expect(detector.ejections('a')).toBe(1);
    await clock.advance(60_000);
    expect(detector.ejections('a')).toBe(0);
    eject(); // a fresh ejection: base × 1 again
    await clock.advance(30_000);
    expect(detector.state('a')).toBe('healthy');
  });

  it('a success resets the count; a 500 resets only the gateway count', () => {
    const { detector } = setup(['a', 'b', 'c'], { consecutiveFailures: 10, consecutiveGatewayFailures: 3 });
    detector.record('a', { status: 502 });
    detector.record('a', { status: 502 });
    detector.record('a', { status: 200 });
    detector.record('a', { status: 502 });
    detector.record('a', { status: 502 });
    detector.record('a', { status: 500 });
    detector.record('a', { status: 504 });
    detector.record('a', { status: 504 });
    expect(detector.state('a')).toBe('healthy');
    expect(detector.record('a', { error: true })).toBe(true);
  });

  it('the percentage cap: of three hosts one is ejected, the second keeps serving', () => {
    const { detector } = setup(['a', 'b', 'c']);
    for (let i = 0; i < 5; i++) detector.record('a', { status: 503 });
    for (let i = 0; i < 5; i++) detector.record('b', { status: 503 });
    expect([detector.state('a'), detector.state('b')]).toEqual(['ejected', 'healthy']);
    expect(detector.record('b', { status: 503 })).toBe(false); // still over the cap
  });

  it('a single host is never ejected; no slow start when the window is 0; remove clears the timer', async () => {
    const one = setup(['a']);
    for (let i = 0; i < 10; i++) one.detector.record('a', { error: true });
    expect(one.detector.state('a')).toBe('healthy');

    const { clock, detector } = setup(['a', 'b', 'c'], { slowStartMs: 0 });
    for (let i = 0; i < 5; i++) detector.record('a', { error: true });
    await clock.advance(30_000);
    expect([detector.state('a'), detector.weight('a')]).toEqual(['healthy', 1]);
    for (let i = 0; i < 5; i++) detector.record('b', { error: true });
    expect(clock.pendingTimers).toBe(2); // b's ejection and the interval
    detector.remove('b');
    expect(clock.pendingTimers).toBe(1);
  });

  it('uneject returns an ejected host at once into slow start and cancels its timer; other states are untouched', async () => {
    const { clock, detector, changes } = setup(['a', 'b', 'c']);
    detector.uneject('a'); // healthy: nothing happens
    for (let i = 0; i < 5; i++) detector.record('a', { error: true });
    await clock.advance(1_000);
    detector.uneject('a');
    expect([detector.state('a'), detector.weight('a')]).toEqual(['slow-start', 0.1]);
    await clock.advance(30_000); // the ejection's own timer (30 s) must not fire into the slow start
    expect(detector.state('a')).toBe('healthy');
    expect(changes.map(([t, , state]) => [t, state])).toEqual([
      [0, 'ejected'],
      [1_000, 'slow-start'],
      [31_000, 'healthy'],
    ]);
  });

  it('refuses bad options with their name', () => {
    expect(() => new OutlierDetector({ consecutiveFailures: 0 })).toThrow(/consecutiveFailures/);
    expect(() => new OutlierDetector({ maxEjectionPercent: 120 })).toThrow(/maxEjectionPercent/);
  });
});
