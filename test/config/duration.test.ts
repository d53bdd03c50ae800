import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { duration, formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it('reads each unit, combinations, fractions and plain ms numbers', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1m30s500ms')).toBe(90_500);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration(' 10s ')).toBe(10_000);
    expect(parseDuration(1234)).toBe(1234);
    expect(parseDuration(0)).toBe(0);
  });

  it('rejects anything else with the accepted forms in the message', () => {
    for (const bad of ['', '30', '30 s', '30 seconds', 's', '5x', '-5s', '1h 30m', 'ms']) {
      expect(() => parseDuration(bad), bad).toThrow('expected a duration like 30s, 5m, 7d');
    }
    expect(() => parseDuration(-1)).toThrow(TypeError);
    expect(() => parseDuration(Number.NaN)).toThrow(TypeError);
    expect(() => parseDuration(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });
});

describe('formatDuration', () => {
  it('writes the shortest exact combination', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(604_800_000)).toBe('7d');
    expect(formatDuration(93_784_005)).toBe('1d2h3m4s5ms');
    expect(formatDuration(-1_500)).toBe('-1s500ms');
  });

  it('round-trips with parseDuration', () => {
    for (const ms of [1, 999, 1_000, 61_001, 86_400_000, 90_061_001]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

describe('duration() schema', () => {
  it('turns strings into ms and keeps numbers', () => {
    expect(duration().parse('5m')).toBe(300_000);
    expect(duration().parse(42)).toBe(42);
  });

  it('says what a duration looks like, for a bad string and a wrong type', () => {
    const bad = duration().safeParse('soon');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('expected a duration like 30s, 5m, 7d');
    expect(duration().safeParse(true).error?.issues[0]?.message).toBe('expected a duration like 30s, 5m, 7d');
  });

  it('enforces bounds in words', () => {
    expect(duration({ min: 1_000 }).safeParse('10ms').error?.issues[0]?.message).toBe('must be at least 1s');
    expect(duration({ max: 60_000 }).safeParse('2m').error?.issues[0]?.message).toBe('must be at most 1m');
  });

  it('composes with default()', () => {
    expect(z.object({ every: duration().default(30_000) }).parse({})).toEqual({ every: 30_000 });
  });
});
