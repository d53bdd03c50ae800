import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { type CallResult, OutlierDetector, type OutlierDetectorOptions, type OutlierReason } from '../../src/failover/ejection.js';
import { chanceOfNoise, IntervalRules, successRateThreshold } from '../../src/failover/outlier-stats.js';
import { random } from '../support/random.js';

const OK: CallResult = { status: 200 };
const FAIL: CallResult = { status: 503 };
/** Only the interval detectors, as Envoy's BasicFlowSuccessRate test turns its consecutive ones off. */
const INTERVAL_ONLY = { consecutiveFailures: Number.POSITIVE_INFINITY, consecutiveGatewayFailures: Number.POSITIVE_INFINITY };

function setup(n: number, options: OutlierDetectorOptions = {}) {
  const clock = new ManualClock();
  const ejections: [number, string, OutlierReason | undefined][] = [];
  const overflows: [string, OutlierReason][] = [];
  const detector = new OutlierDetector({
    clock,
    jitter: 0,
    onChange: (host, state, reason) => {
      if (state === 'ejected') ejections.push([clock.now(), host, reason]);
    },
    onOverflow: (host, reason) => overflows.push([host, reason]),
    ...options,
  });
  const hosts = Array.from({ length: n }, (_, i) => `h${i}`);
  for (const h of hosts) detector.add(h);
  const load = (host: string, count: number, result: CallResult) => {
    for (let i = 0; i < count; i++) detector.record(host, result);
  };
  return { clock, detector, hosts, ejections, overflows, load };
}

describe('successRateThreshold (Envoy golden)', () => {
  it('{50, 100, 100, 100, 100}: mean 90, variance 400, stdev 20, threshold 52', () => {
    // The worked example in the comment of Envoy's successRateEjectionThreshold
    // (source/common/upstream/outlier_detection_impl.cc) and its unit test TEST(OutlierUtility, SRThreshold)
    // in test/common/upstream/outlier_detection_impl_test.cc; Envoy's docs publish no numeric example.
    expect(successRateThreshold([50, 100, 100, 100, 100])).toEqual({ mean: 90, threshold: 52 });
    expect(successRateThreshold([50, 100, 100, 100, 100], 1)).toEqual({ mean: 90, threshold: 70 });
  });
});

describe('chanceOfNoise', () => {
  it('is an upper bound on the exact binomial tail, and 1 at or below the expected failures', () => {
    const exactTail = (k: number, n: number, p: number) => {
      let term = (1 - p) ** n; // P(X = 0)
      let below = 0;
      for (let i = 0; i < k; i++) {
        below += term;
        term *= ((n - i) / (i + 1)) * (p / (1 - p));
      }
      return 1 - below;
    };
    for (const [n, p] of [
      [100, 0.01],
      [100, 0.1],
      [1000, 0.01],
      [50, 0.3],
    ] as const) {
      for (let k = Math.ceil(n * p) + 1; k <= n; k += Math.max(1, Math.floor(n / 50))) {
        const exact = exactTail(k, n, p);
        expect(chanceOfNoise(k, n, p)).toBeGreaterThanOrEqual(exact - 1e-12);
      }
    }
    expect(chanceOfNoise(1, 100, 0.01)).toBe(1);
    expect(chanceOfNoise(0, 100, 0.01)).toBe(1);
    expect(chanceOfNoise(100, 100, 0.5)).toBeCloseTo(0.5 ** 100, 40);
  });
});

describe('IntervalRules', () => {
  const hosts = (...failures: number[]) => failures.map((f) => ({ requests: 100, failures: f }));

  it("the noise guard: 3 failures in 100 beside four spotless hosts pass Envoy's rule but are not evidence", () => {
    // rates 100, 100, 100, 100, 97: mean 99.4, stdev 1.2, Envoy's threshold 97.12, so 97 is an outlier to Envoy.
    const counts = hosts(0, 0, 0, 0, 3);
    const envoy = new IntervalRules({ successRateSignificance: 1 }).evaluate(counts);
    expect(envoy.successRate?.threshold).toBeCloseTo(97.12, 10);
    expect(envoy.outliers).toEqual([{ index: 4, reason: 'success-rate' }]);
    expect(new IntervalRules().evaluate(counts).outliers).toEqual([]);
    // Ten failures in 100 beside spotless hosts are far beyond noise: both eject.
    expect(new IntervalRules().evaluate(hosts(0, 0, 0, 0, 10)).outliers).toEqual([{ index: 4, reason: 'success-rate' }]);
  });

  it('success rate needs the minimum hosts with the volume; failure percentage is >= its threshold', () => {
    const rules = new IntervalRules();
    const four = [...hosts(0, 0, 0, 50), { requests: 99, failures: 0 }];
    expect(rules.evaluate(four)).toEqual({ outliers: [] }); // 4 hosts with 100 requests < 5
    expect(rules.evaluate(hosts(0, 85)).outliers).toEqual([{ index: 1, reason: 'failure-percentage' }]);
    expect(rules.evaluate(hosts(0, 84)).outliers).toEqual([]);
    expect(rules.evaluate([{ requests: 19, failures: 19 }, ...hosts(0)]).outliers).toEqual([]); // 19 < 20 requests
    expect(
      rules.evaluate([
        { requests: 20, failures: 20 },
        { requests: 19, failures: 0 },
      ]).outliers,
    ).toEqual([]); // 1 host < 2
    // A success-rate outlier is not flagged twice.
    expect(rules.evaluate(hosts(0, 0, 0, 0, 90)).outliers).toEqual([{ index: 4, reason: 'success-rate' }]);
    expect(rules.evaluate(hosts(0, 0, 0, 0, 90), { successRate: false, failurePercentage: true }).outliers).toEqual([
      { index: 4, reason: 'failure-percentage' },
    ]);
  });

  it('refuses bad options with their name', () => {
    expect(() => new IntervalRules({ successRateMinimumHosts: 0 })).toThrow(/successRateMinimumHosts/);
    expect(() => new IntervalRules({ successRateSignificance: 2 })).toThrow(/successRateSignificance/);
    expect(() => new IntervalRules({ failurePercentageThreshold: 101 })).toThrow(/failurePercentageThreshold/);
    expect(() => new IntervalRules({ failurePercentageRequestVolume: 1.5 })).toThrow(/failurePercentageRequestVolume/);
  });
});

describe('OutlierDetector interval detectors', () => {
  it("Envoy's BasicFlowSuccessRate: host 4 at 200 of 400 is ejected at the first interval, mean 90, threshold 52", async () => {
    // test/common/upstream/outlier_detection_impl_test.cc: loadRq(hosts_, 200, 200); loadRq(hosts_[4], 200, 503).
    const { clock, detector, hosts, ejections, load } = setup(5, INTERVAL_ONLY);
    for (const h of hosts) load(h, 200, OK);
    load('h4', 200, FAIL);
    await clock.advance(9_999);
    expect(detector.state('h4')).toBe('healthy');
    await clock.advance(1);
    expect(ejections).toEqual([[10_000, 'h4', 'success-rate']]);
    expect(detector.successRateStats()).toEqual({ mean: 90, threshold: 52 });
    // Un-ejected by its own timer at 40 s (Envoy checks at the next interval after: 50 s).
    await clock.advance(29_999);
    expect(detector.state('h4')).toBe('ejected');
    await clock.advance(1);
    expect(detector.state('h4')).toBe('slow-start');
    // Then 25 requests each: no host has the volume, no stats, no ejection.
    await clock.advance(9_999); // the interval at 40 s saw no calls
    for (const h of hosts) load(h, 25, OK);
    load('h4', 25, FAIL);
    await clock.advance(10_000);
    expect(detector.successRateStats()).toBeUndefined();
    expect(ejections).toHaveLength(1);
  });

  it('a host at 50 % errors among 1 % ones is ejected by success rate alone (10 hosts, 120 calls each)', async () => {
    const { clock, hosts, ejections, detector } = setup(10, { ...INTERVAL_ONLY, enforcingFailurePercentage: 0 });
    const rnd = random(7);
    for (let i = 0; i < 120; i++) for (const h of hosts) detector.record(h, rnd() < (h === 'h0' ? 0.5 : 0.01) ? FAIL : OK);
    await clock.advance(10_000);
    expect(ejections).toEqual([[10_000, 'h0', 'success-rate']]);
  });

  it('a host at 50 % errors is ejected by failure percentage alone (3 hosts, threshold 50); not at the default 85', async () => {
    for (const [threshold, expected] of [
      [50, [[10_000, 'h0', 'failure-percentage']]],
      [undefined, []],
    ] as const) {
      const { clock, hosts, ejections, detector } = setup(3, { ...INTERVAL_ONLY, failurePercentageThreshold: threshold });
      for (let i = 0; i < 40; i++) for (const h of hosts) detector.record(h, h === 'h0' && i % 2 === 0 ? FAIL : OK);
      await clock.advance(10_000);
      expect(ejections).toEqual(expected);
    }
  });

  it('with every default, a 50 % host among three goes by consecutive failures, a 90 % host by failure percentage too', async () => {
    const { detector, hosts, ejections } = setup(3);
    const rnd = random(3);
    for (let i = 0; i < 200 && ejections.length === 0; i++)
      for (const h of hosts) detector.record(h, h === 'h0' && rnd() < 0.5 ? { status: 500 } : OK);
    expect(ejections.map(([, h, r]) => [h, r])).toEqual([['h0', 'consecutive-failures']]);

    const fp = setup(3, { consecutiveFailures: 20, consecutiveGatewayFailures: 20 });
    for (let i = 0; i < 20; i++) for (const h of fp.hosts) fp.detector.record(h, h === 'h0' && i % 10 !== 0 ? FAIL : OK);
    await fp.clock.advance(10_000);
    expect(fp.ejections).toEqual([[10_000, 'h0', 'failure-percentage']]);
  });

  it('1 % random errors on 3, 5 and 10 hosts for 10 minutes eject nothing; without the guard, Envoy’s rule ejects healthy hosts', async () => {
    const simulate = async (n: number, seed: number, options: OutlierDetectorOptions) => {
      const { clock, detector, hosts, ejections } = setup(n, options);
      const rnd = random(seed);
      const errors: CallResult[] = [{ status: 500 }, { status: 503 }, { error: true }];
      for (let interval = 0; interval < 60; interval++) {
        for (let i = 0; i < 120; i++) {
          for (const h of hosts) detector.record(h, rnd() < 0.01 ? (errors[Math.floor(rnd() * 3)] as CallResult) : OK);
        }
        await clock.advance(10_000);
      }
      detector.close();
      return ejections.length;
    };
    for (const n of [3, 5, 10]) {
      for (const seed of [1, 2, 3]) expect([n, seed, await simulate(n, seed, {})]).toEqual([n, seed, 0]);
    }
    // The same traffic with the guard off: at 5 and 10 hosts mean − 1.9 × stdev ejects hosts that are as healthy as the rest.
    expect(await simulate(3, 1, { successRateSignificance: 1 })).toBe(0); // success rate needs 5 hosts
    expect(await simulate(5, 1, { successRateSignificance: 1 })).toBeGreaterThan(0);
    expect(await simulate(10, 1, { successRateSignificance: 1 })).toBeGreaterThan(5);
  });

  it('ejected hosts do not count: left out of the interval, and their calls before the ejection are dropped', async () => {
    for (const eject of [false, true]) {
      const { clock, detector, hosts, load } = setup(5);
      for (const h of hosts) load(h, 100, OK);
      if (eject) load('h0', 5, { status: 502 }); // consecutive gateway failures
      await clock.advance(10_000);
      // 4 hosts in rotation are fewer than success rate's 5.
      expect(detector.successRateStats()).toEqual(eject ? undefined : { mean: 100, threshold: 100 });
    }

    const opts = { ...INTERVAL_ONLY, consecutiveGatewayFailures: 20, failurePercentageThreshold: 50, intervalMs: 60_000 };
    const { clock, detector, ejections, load } = setup(3, { ...opts, baseEjectionMs: 10_000, slowStartMs: 0 });
    load('h1', 30, OK);
    load('h2', 30, OK);
    load('h0', 20, FAIL); // ejected at the 20th
    await clock.advance(10_000);
    expect(detector.state('h0')).toBe('healthy');
    load('h0', 5, OK); // counted with the 20 failures it would be 80 % of 25 calls
    await clock.advance(50_000);
    expect(ejections).toEqual([[0, 'h0', 'consecutive-gateway-failures']]);
  });

  it('onOverflow: once per consecutive streak, once per interval for the interval detectors', async () => {
    const { detector, overflows, load } = setup(3);
    load('h0', 5, FAIL);
    load('h1', 12, FAIL); // reaches 5 while h0 holds the only slot
    expect([detector.state('h0'), detector.state('h1')]).toEqual(['ejected', 'healthy']);
    expect(overflows).toEqual([['h1', 'consecutive-gateway-failures']]);
    load('h1', 1, OK);
    load('h1', 5, { status: 500 });
    expect(overflows).toEqual([
      ['h1', 'consecutive-gateway-failures'],
      ['h1', 'consecutive-failures'],
    ]);

    const fp = setup(3, INTERVAL_ONLY);
    for (const h of fp.hosts) fp.load(h, 20, h === 'h2' ? OK : FAIL);
    await fp.clock.advance(10_000);
    expect(fp.ejections).toEqual([[10_000, 'h0', 'failure-percentage']]);
    expect(fp.overflows).toEqual([['h1', 'failure-percentage']]);
  });

  it('enforcing percentages: 0 turns a detector off (both off: no interval timer); between, the injected random decides', async () => {
    const off = setup(3, { ...INTERVAL_ONLY, enforcingFailurePercentage: 0, enforcingSuccessRate: 0 });
    expect(off.clock.pendingTimers).toBe(0);
    off.load('h0', 20, FAIL);
    await off.clock.advance(10_000);
    expect(off.ejections).toEqual([]);

    const rolls = [0.7, 0.2]; // 70 >= 50: not enforced; 20 < 50: enforced
    const half = setup(3, { ...INTERVAL_ONLY, enforcingFailurePercentage: 50, random: () => rolls.shift() ?? 0 });
    for (const t of [10_000, 20_000]) {
      for (const h of half.hosts) half.load(h, 20, h === 'h0' ? FAIL : OK);
      await half.clock.set(t);
    }
    expect(half.ejections).toEqual([[20_000, 'h0', 'failure-percentage']]);
  });

  it('close() clears every timer: interval, ejection and slow start; later results are ignored', async () => {
    const { clock, detector, load } = setup(3);
    load('h0', 5, FAIL);
    load('h1', 5, OK);
    expect(clock.pendingTimers).toBe(2); // h0's ejection and the interval
    detector.close();
    expect(clock.pendingTimers).toBe(0);
    expect(detector.record('h1', FAIL)).toBe(false);
    await clock.advance(600_000);
    expect(detector.state('h0')).toBe('ejected');
    detector.close(); // harmless twice

    const slow = setup(3);
    slow.load('h0', 5, FAIL);
    await slow.clock.advance(30_000);
    expect(slow.detector.state('h0')).toBe('slow-start');
    slow.detector.close();
    expect(slow.clock.pendingTimers).toBe(0);

    // Closed by a callback during the interval: no timer is armed after it, the next outlier is left alone.
    let detector2: OutlierDetector | undefined;
    const inTick = setup(5, {
      ...INTERVAL_ONLY,
      maxEjectionPercent: 100,
      onChange: (_host, state) => {
        if (state === 'ejected') detector2?.close();
      },
    });
    detector2 = inTick.detector;
    for (const h of inTick.hosts) inTick.load(h, 20, h === 'h0' || h === 'h1' ? FAIL : OK);
    await inTick.clock.advance(10_000);
    expect([inTick.detector.state('h0'), inTick.detector.state('h1')]).toEqual(['ejected', 'healthy']);
    expect(inTick.clock.pendingTimers).toBe(0);

    // Closed or removed by a callback at the start of slow start or at an ejection: no timer is left behind.
    for (const [when, act] of [
      ['slow-start', 'close'],
      ['slow-start', 'remove'],
      ['ejected', 'remove'],
    ] as const) {
      let d: OutlierDetector | undefined;
      const cb = setup(3, {
        enforcingSuccessRate: 0,
        enforcingFailurePercentage: 0,
        onChange: (host, state) => {
          if (state === when) act === 'close' ? d?.close() : d?.remove(host);
        },
      });
      d = cb.detector;
      cb.load('h0', 5, FAIL);
      await cb.clock.advance(30_000);
      expect([when, act, cb.clock.pendingTimers]).toEqual([when, act, 0]);
    }
  });

  it('refuses bad interval options with their name', () => {
    expect(() => new OutlierDetector({ intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => new OutlierDetector({ enforcingSuccessRate: 101 })).toThrow(/enforcingSuccessRate/);
    expect(() => new OutlierDetector({ successRateStdevFactor: -1 })).toThrow(/successRateStdevFactor/);
  });
});
