import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { isNinesError } from '../../../src/core/errors.js';
import { FlagsInvalidError } from '../../../src/degrade/flags/errors.js';
import { type FlagChange, FlagSet } from '../../../src/degrade/flags/flag-set.js';
import type { FlagLevel } from '../../../src/degrade/flags/level.js';
import { flagMetrics } from '../../../src/metrics/flag-metrics.js';

describe('FlagSet', () => {
  it('an unknown flag is off (or the given default) with the disabled variant', () => {
    const flags = new FlagSet();
    expect(flags.isEnabled('nope')).toBe(false);
    expect(flags.isEnabled('nope', {}, true)).toBe(true);
    expect(flags.variant('nope')).toEqual({ name: 'disabled', enabled: false, featureEnabled: false });
    expect(flags.evaluate('nope')).toMatchObject({ enabled: false, reason: 'DEFAULT', off: 'unknown' });
  });

  it('a flag without rules is on for everyone; the kill switch turns it off', () => {
    const flags = new FlagSet({ flags: { search: {} } });
    expect(flags.evaluate('search')).toMatchObject({ enabled: true, reason: 'STATIC' });
    expect(flags.isEnabled('search', {}, false)).toBe(true);
    flags.set('search', { enabled: false });
    expect(flags.evaluate('search')).toMatchObject({ enabled: false, reason: 'DISABLED', off: 'killed' });
  });

  it('rules: equals, in, number and semver comparisons, inverted, first matching rule wins', () => {
    const flags = new FlagSet({
      flags: {
        beta: {
          rules: [
            { when: [{ attribute: 'plan', operator: 'IN', values: ['pro', 'team'] }] },
            {
              when: [
                { attribute: 'appVersion', operator: 'SEMVER_GTE', value: '2.1.0' },
                { attribute: 'age', operator: 'NUM_GT', value: 17 },
                { attribute: 'country', operator: 'IN', values: ['xx'], inverted: true },
              ],
            },
          ],
        },
      },
    });
    expect(flags.evaluate('beta', { plan: 'pro' })).toMatchObject({ enabled: true, reason: 'TARGETING_MATCH' });
    expect(flags.isEnabled('beta', { properties: { plan: 'team' } })).toBe(true);
    expect(flags.isEnabled('beta', { plan: 'free' })).toBe(false);
    expect(flags.isEnabled('beta', { appVersion: '2.1.0', age: 18, country: 'no' })).toBe(true);
    expect(flags.isEnabled('beta', { appVersion: '2.1.0-rc.1', age: 18 })).toBe(false);
    expect(flags.isEnabled('beta', { appVersion: '2.1.0', age: 17 })).toBe(false);
    expect(flags.isEnabled('beta', { appVersion: '2.1.0', age: 18, country: 'xx' })).toBe(false);
    expect(flags.evaluate('beta', { plan: 'free' })).toMatchObject({ reason: 'DEFAULT', off: 'rules' });
  });

  it('DATE_* conditions read the clock when the context has no currentTime', async () => {
    const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
    const flags = new FlagSet({
      clock,
      flags: { sale: { rules: [{ when: [{ attribute: 'currentTime', operator: 'DATE_AFTER', value: '2030-06-01T00:00:00Z' }] }] } },
    });
    expect(flags.isEnabled('sale')).toBe(false);
    expect(flags.isEnabled('sale', { currentTime: new Date('2030-07-01T00:00:00Z') })).toBe(true);
    await clock.advance(200 * 86_400_000);
    expect(flags.isEnabled('sale')).toBe(true);
  });

  it('dependencies: on only if the parent is (or is off, or has one of the variants)', () => {
    const flags = new FlagSet({
      flags: {
        parent: { rules: [{ when: [{ attribute: 'plan', operator: 'IN', values: ['pro'] }], variants: [{ name: 'v2' }] }] },
        child: { dependsOn: [{ flag: 'parent' }] },
        whenOff: { dependsOn: [{ flag: 'parent', enabled: false }] },
        onV2: { dependsOn: [{ flag: 'parent', variants: ['v2'] }] },
        onV3: { dependsOn: [{ flag: 'parent', variants: ['v3'] }] },
        grandchild: { dependsOn: [{ flag: 'child' }] },
      },
    });
    expect(flags.isEnabled('child', { plan: 'pro' })).toBe(true);
    expect(flags.evaluate('child', { plan: 'free' })).toMatchObject({ enabled: false, off: 'dependency' });
    expect(flags.isEnabled('whenOff', { plan: 'free' })).toBe(true);
    expect(flags.isEnabled('whenOff', { plan: 'pro' })).toBe(false);
    expect(flags.isEnabled('onV2', { plan: 'pro' })).toBe(true);
    expect(flags.isEnabled('onV3', { plan: 'pro' })).toBe(false);
    expect(flags.isEnabled('grandchild', { plan: 'pro' })).toBe(false); // one level, as Unleash
  });

  it('minLevel: off below the level it needs, on again when the level returns', () => {
    let level: FlagLevel = 'full';
    const registry = new Registry();
    const flags = new FlagSet({
      level: () => level,
      metrics: flagMetrics(registry),
      flags: {
        recommendations: { minLevel: 'full' },
        search: { minLevel: 'degraded' },
        killed: { enabled: false },
        child: { dependsOn: [{ flag: 'recommendations' }] },
      },
    });
    expect(flags.isEnabled('recommendations')).toBe(true);
    level = 'degraded';
    expect(flags.evaluate('recommendations')).toMatchObject({ enabled: false, reason: 'DISABLED', off: 'level' });
    expect(flags.isEnabled('search')).toBe(true);
    expect(flags.live('child')).toBe(false);
    level = 'minimal';
    expect(flags.isEnabled('search')).toBe(false);
    level = 'full';
    expect(flags.isEnabled('recommendations')).toBe(true);
    expect(flags.live('child')).toBe(true);
  });

  it('nines_flag_enabled says which flags are live, read at scrape time', async () => {
    let level: FlagLevel = 'full';
    const registry = new Registry();
    const flags = new FlagSet({
      level: () => level,
      metrics: flagMetrics(registry),
      flags: { a: { minLevel: 'full' }, b: { enabled: false } },
    });
    const scrape = async () => (await registry.getMetricsAsJSON()).find((m) => m.name === 'nines_flag_enabled')?.values;
    expect(await scrape()).toEqual(
      expect.arrayContaining([
        { value: 1, labels: { flag: 'a' } },
        { value: 0, labels: { flag: 'b' } },
      ]),
    );
    level = 'minimal';
    flags.remove('b');
    expect(await scrape()).toEqual([{ value: 0, labels: { flag: 'a' } }]);
  });

  it('replace() validates every flag first: a bad set throws every problem as path: message and changes nothing', () => {
    const flags = new FlagSet({ flags: { keep: {} } });
    let error: unknown;
    try {
      flags.replace({
        a: { rules: [{ rollout: 150 }] },
        b: { minLevel: 'sometimes' as 'full', rules: [{ when: [{ attribute: 'x', operator: 'NUM_GT' }] }] },
        c: { colour: 'red' } as never,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlagsInvalidError);
    expect(isNinesError(error, 'NINES_FLAGS_INVALID')).toBe(true);
    const problems = (error as FlagsInvalidError).problems;
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^a\.rules\[0\]\.rollout: /),
        expect.stringMatching(/^b\.minLevel: /),
        'b.rules[0].when[0].value: NUM_GT needs one value',
        expect.stringMatching(/^c: .*colour/),
      ]),
    );
    expect(flags.names()).toEqual(['keep']);
    expect(() => flags.set('d', { rules: [{ rollout: -1 }] })).toThrow(/d\.rules\[0\]\.rollout: /);
  });

  it('emits change for each flag that differs, with before and after', () => {
    const flags = new FlagSet({ flags: { same: {}, changed: {}, gone: {} } });
    const changes: FlagChange[] = [];
    flags.on('change', (c) => changes.push(c));
    flags.replace({ same: {}, changed: { enabled: false }, added: {} });
    expect(changes.map((c) => [c.flag, c.before?.enabled, c.after?.enabled])).toEqual([
      ['changed', true, false],
      ['added', undefined, true],
      ['gone', true, undefined],
    ]);
    changes.length = 0;
    flags.set('same', {});
    expect(changes).toEqual([]);
    flags.remove('same');
    expect(changes.map((c) => c.flag)).toEqual(['same']);
    expect(flags.remove('same')).toBe(false);
  });

  it('variants: overrides first, then weights sticky to the key; a rollout below 100 % is a SPLIT', () => {
    const flags = new FlagSet({
      flags: {
        theme: {
          rules: [{ rollout: 50, stickiness: 'userId' }],
          variants: [
            {
              name: 'dark',
              weight: 1,
              payload: { type: 'json', value: { contrast: 'high' } },
              overrides: [{ attribute: 'userId', values: ['vip'] }],
            },
            { name: 'light', weight: 1 },
          ],
        },
      },
    });
    expect(flags.variant('theme', { userId: 'vip' }).name).toBe('dark');
    const on = Array.from({ length: 200 }, (_, i) => flags.evaluate('theme', { userId: `u${i}` })).filter((e) => e.enabled);
    expect(on.length).toBeGreaterThan(50);
    expect(new Set(on.map((e) => e.variant.name))).toEqual(new Set(['dark', 'light']));
    expect(on.every((e) => e.reason === 'SPLIT')).toBe(true);
    expect(flags.get('theme')?.variants?.[0]?.payload).toEqual({ type: 'json', value: '{"contrast":"high"}' });
  });

  it('rejects bad options by name', () => {
    expect(() => new FlagSet({ level: 'full' as never })).toThrow(/^level must be a function/);
  });
});
