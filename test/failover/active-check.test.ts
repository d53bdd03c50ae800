import { describe, expect, it, vi } from 'vitest';
import { type Clock, ManualClock, systemClock, type TimerHandle } from '../../src/core/clock.js';
import { isNinesError } from '../../src/core/errors.js';
import {
  type ActiveCheckOptions,
  ActiveHealthChecker,
  type CheckState,
  type Probe,
  type ProbeOutcome,
} from '../../src/failover/active-check.js';

const OK: ProbeOutcome = { status: 200 };
const BAD: ProbeOutcome = { status: 500 };
const DRAIN: ProbeOutcome = { status: 503 };
const REFUSED: ProbeOutcome = { error: new Error('connect ECONNREFUSED') };

/** A checker on a manual clock whose probe answers from `answers` (then OK), recording when each probe started. */
function setup(options: ActiveCheckOptions = {}, answers: ProbeOutcome[] = []) {
  const clock = new ManualClock();
  const probes: number[] = [];
  const signals: AbortSignal[] = [];
  const changes: [number, string, CheckState, string][] = [];
  const checks: [number, string, string][] = [];
  const probe: Probe = (_endpoint, signal) => {
    probes.push(clock.now());
    signals.push(signal);
    return Promise.resolve(answers.shift() ?? OK);
  };
  const checker = new ActiveHealthChecker(probe, {
    clock,
    jitter: 0,
    random: () => 0,
    idleAfterMs: Number.POSITIVE_INFINITY,
    onChange: (endpoint, state, reason) => changes.push([clock.now(), endpoint, state, reason]),
    onCheck: (endpoint, result) => checks.push([clock.now(), endpoint, result]),
    ...options,
  });
  /** Gaps between consecutive probe starts. */
  const gaps = () => probes.slice(1).map((t, i) => t - (probes[i] as number));
  return { clock, checker, probes, signals, changes, checks, answers, gaps };
}

describe('HAProxy interval table (golden)', () => {
  // Row by row from the HAProxy configuration manual, section 5.2 "inter <delay> / fastinter <delay> /
  // downinter <delay>" (doc/configuration.txt of haproxy/haproxy, version 3.5):
  //          Server state                   |         Interval used
  //   UP 100% (non-transitional)             | "inter"
  //   Transitionally UP (going down "fall"), | "fastinter" if set,
  //   Transitionally DOWN (going up "rise"), | "inter" otherwise.
  //   or yet unchecked.                      |
  //   DOWN 100% (non-transitional)           | "downinter" if set, "inter" otherwise.
  // The code is HAProxy's srv_getinter() (src/server.c): inter at health rise+fall-1, downinter at 0, else fastinter.
  const golden: [string, number, number][] = [
    // [row, with inter 2000 fastinter 500 downinter 10000, with inter 2000 only]
    ['UP 100% (non-transitional)', 2000, 2000],
    ['Transitionally UP (going down "fall")', 500, 2000],
    ['Transitionally DOWN (going up "rise")', 500, 2000],
    ['yet unchecked', 500, 2000],
    ['DOWN 100% (non-transitional)', 10_000, 2000],
  ];

  /** Walks one endpoint through every row and returns the interval seen in each. */
  async function observe(options: ActiveCheckOptions): Promise<Record<string, number>> {
    // rise 2, fall 3: pass (unchecked -> fully up), pass, fail, fail, fail (-> down), pass (going up), pass (-> up), pass
    const { clock, checker, probes, gaps } = setup(
      { intervalMs: 2000, healthyThreshold: 2, unhealthyThreshold: 3, random: () => 0.5, ...options },
      [OK, OK, BAD, BAD, BAD, OK, OK, OK],
    );
    checker.add('a');
    await clock.advance(60_000);
    const g = gaps();
    return {
      // the first probe comes at random within the unchecked interval: half of it here
      'yet unchecked': (probes[0] as number) * 2,
      'UP 100% (non-transitional)': g[0] as number, // after the 1st pass: fully up
      'Transitionally UP (going down "fall")': g[2] as number, // after the 1st failure (health 3 of 4)
      'DOWN 100% (non-transitional)': g[4] as number, // after the 3rd failure (health 0)
      'Transitionally DOWN (going up "rise")': g[5] as number, // after the 1st pass while down (health 1 of 4)
    };
  }

  it('fastinter and downinter set: each row uses its interval', async () => {
    const seen = await observe({ fastIntervalMs: 500, downIntervalMs: 10_000 });
    expect(golden.map(([row]) => [row, seen[row]])).toEqual(golden.map(([row, set]) => [row, set]));
  });

  it('fastinter and downinter unset: every row falls back to inter', async () => {
    const seen = await observe({});
    expect(golden.map(([row]) => [row, seen[row]])).toEqual(golden.map(([row, , unset]) => [row, unset]));
  });

  it('the second failure of a fall still uses fastinter; a pass while going down returns to inter', async () => {
    const { clock, checker, gaps } = setup({ intervalMs: 2000, fastIntervalMs: 500 }, [OK, BAD, BAD, OK, OK]);
    checker.add('a');
    await clock.advance(7000);
    expect(gaps().slice(0, 4)).toEqual([2000, 500, 500, 2000]);
  });
});

describe('ActiveHealthChecker: rise and fall (HAProxy health counter)', () => {
  it('fall consecutive failures take it down; a pass in between resets the count', async () => {
    const { clock, checker, changes } = setup({ intervalMs: 1000 }, [OK, BAD, BAD, OK, BAD, BAD, BAD]);
    checker.add('a');
    await clock.advance(0);
    expect(checker.state('a')).toBe('up');
    await clock.advance(5000); // probes at 1000..5000: fail, fail, pass, fail, fail
    expect(checker.state('a')).toBe('up');
    expect(changes).toEqual([]);
    await clock.advance(1000); // the third consecutive failure
    expect(checker.state('a')).toBe('down');
    expect(changes).toEqual([[6000, 'a', 'down', 'fall']]);
  });

  it('rise consecutive passes bring it up; a failure in between resets the count', async () => {
    const { clock, checker, changes } = setup({ intervalMs: 1000, healthyThreshold: 3 }, [BAD, OK, OK, BAD, OK, OK]);
    checker.add('a', 'down');
    await clock.advance(5000); // fail, pass, pass, fail, pass, pass
    expect(checker.state('a')).toBe('down');
    await clock.advance(1000); // third consecutive pass
    expect(checker.state('a')).toBe('up');
    expect(changes).toEqual([[6000, 'a', 'up', 'rise']]);
  });

  it.each([
    ['up (the default, HAProxy start): the first failure takes it down at once', {}, REFUSED, 'up', 'down', 'fall'],
    ['down (initialState): the first pass brings it up', { initialState: 'down' }, OK, 'down', 'up', 'rise'],
  ] as const)('unchecked %s', async (_title, options, answer, before, after, reason) => {
    const { clock, checker, changes } = setup(options, [answer]);
    checker.add('a');
    expect(checker.state('a')).toBe(before);
    await clock.advance(0);
    expect(checker.state('a')).toBe(after);
    expect(changes).toEqual([[0, 'a', after, reason]]);
  });

  it('with rise 1 and fall 1 every probe decides', async () => {
    const { clock, checker, changes } = setup({ intervalMs: 1000, healthyThreshold: 1, unhealthyThreshold: 1 }, [OK, BAD, OK]);
    checker.add('a');
    await clock.advance(2000);
    expect(changes).toEqual([
      [1000, 'a', 'down', 'fall'],
      [2000, 'a', 'up', 'rise'],
    ]);
  });

  it('a rejected or throwing probe, and a predicate that throws, count as failures', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const clock = new ManualClock();
    const results: string[] = [];
    let n = 0;
    const probe: Probe = () => {
      n++;
      if (n === 1) return Promise.reject(new Error('boom'));
      if (n === 2) throw new Error('sync boom');
      return Promise.resolve({ status: 200 });
    };
    const checker = new ActiveHealthChecker(probe, {
      clock,
      jitter: 0,
      random: () => 0,
      intervalMs: 1000,
      initialState: 'down',
      isHealthy: (o) => {
        if (n === 3) throw new Error('predicate boom');
        return o.status === 200;
      },
      onCheck: (_e, result) => results.push(result),
    });
    checker.add('a');
    await clock.advance(3000);
    expect(results).toEqual(['fail', 'fail', 'fail', 'pass']);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
    checker.close();
  });

  it('a listener that throws is reported and the schedule goes on', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { clock, checker, probes } = setup({
      intervalMs: 1000,
      onCheck: () => {
        throw new Error('listener boom');
      },
    });
    checker.add('a');
    await clock.advance(2000);
    expect(probes).toEqual([0, 1000, 2000]);
    expect(warn).toHaveBeenCalledTimes(3);
    warn.mockRestore();
    checker.close();
  });
});

describe('ActiveHealthChecker: drain', () => {
  it('503 takes an up endpoint down at once, then it needs rise passes; down uses downinter', async () => {
    const { clock, checker, changes, checks, gaps } = setup({ intervalMs: 1000, fastIntervalMs: 300, downIntervalMs: 5000 }, [
      OK,
      DRAIN,
      OK,
      OK,
    ]);
    checker.add('a');
    await clock.advance(1000);
    expect(checker.state('a')).toBe('down');
    expect(changes).toEqual([[1000, 'a', 'down', 'drain']]);
    await clock.advance(5300);
    expect(changes).toEqual([
      [1000, 'a', 'down', 'drain'],
      [6300, 'a', 'up', 'rise'],
    ]);
    expect(gaps().slice(0, 3)).toEqual([1000, 5000, 300]);
    expect(checks.slice(0, 4).map(([, , r]) => r)).toEqual(['pass', 'drain', 'pass', 'pass']);
  });

  it('a drain while going up resets the passes (no change event while down)', async () => {
    const { clock, checker, changes } = setup({ intervalMs: 1000, healthyThreshold: 3 }, [OK, DRAIN, OK, OK, DRAIN, OK, OK, OK]);
    checker.add('a', 'down'); // health 2 of rise 3: the first pass brings it up
    await clock.advance(0);
    expect(checker.state('a')).toBe('up');
    await clock.advance(6000); // drain, pass, pass, drain, pass, pass: still down
    expect(checker.state('a')).toBe('down');
    await clock.advance(1000);
    expect(changes).toEqual([
      [0, 'a', 'up', 'rise'],
      [1000, 'a', 'down', 'drain'],
      [7000, 'a', 'up', 'rise'],
    ]);
  });

  it('isDraining and isHealthy are the options', async () => {
    const { clock, checker, changes } = setup(
      { intervalMs: 1000, isDraining: (o) => o.status === 410, isHealthy: (o) => o.status === 503 },
      [DRAIN, { status: 410 }],
    );
    checker.add('a');
    await clock.advance(1000);
    expect(changes).toEqual([[1000, 'a', 'down', 'drain']]);
  });
});

describe('ActiveHealthChecker: timeout and overlap', () => {
  it('a probe that does not answer times out as a failure, its signal aborted; the next is due an interval later', async () => {
    const clock = new ManualClock();
    const signals: AbortSignal[] = [];
    const starts: number[] = [];
    const outcomes: ProbeOutcome[] = [];
    const checker = new ActiveHealthChecker(
      (_e, signal) => {
        starts.push(clock.now());
        signals.push(signal);
        return new Promise(() => undefined); // never settles, ignores the signal
      },
      { clock, jitter: 0, random: () => 0, intervalMs: 2000, timeoutMs: 500, onCheck: (_e, _r, o) => outcomes.push(o) },
    );
    checker.add('a');
    await clock.advance(499);
    expect(outcomes).toEqual([]);
    expect(signals[0]?.aborted).toBe(false);
    await clock.advance(1);
    expect(isNinesError(outcomes[0]?.error, 'NINES_TIMEOUT')).toBe(true);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBe(outcomes[0]?.error);
    expect(checker.state('a')).toBe('down'); // unchecked up: one failure
    await clock.advance(10_000);
    expect(starts.slice(0, 3)).toEqual([0, 2500, 5000]);
  });

  it('the default timeout is 1000 ms, at most half the interval', async () => {
    for (const [intervalMs, expected] of [
      [2000, 1000],
      [600, 300],
    ] as const) {
      const clock = new ManualClock();
      const checks: number[] = [];
      const checker = new ActiveHealthChecker(() => new Promise(() => undefined), {
        clock,
        random: () => 0,
        intervalMs,
        onCheck: () => checks.push(clock.now()),
      });
      checker.add('a');
      await clock.advance(expected - 1);
      expect(checks).toEqual([]);
      await clock.advance(1);
      expect(checks).toEqual([expected]);
      checker.close();
    }
  });

  it('a slow probe never overlaps the next: the next is scheduled when it finishes', async () => {
    const clock = new ManualClock();
    const starts: number[] = [];
    let inFlight = 0;
    let most = 0;
    const checker = new ActiveHealthChecker(
      () => {
        starts.push(clock.now());
        most = Math.max(most, ++inFlight);
        return new Promise((resolve) =>
          clock.setTimeout(() => {
            inFlight--;
            resolve(OK);
          }, 1500),
        );
      },
      { clock, jitter: 0, random: () => 0, intervalMs: 2000, timeoutMs: 1900 },
    );
    checker.add('a');
    await clock.advance(10_000);
    expect(starts).toEqual([0, 3500, 7000]);
    expect(most).toBe(1);
    checker.close();
  });

  it('a late answer after a timeout is ignored', async () => {
    const clock = new ManualClock();
    const results: string[] = [];
    let first = true;
    const checker = new ActiveHealthChecker(
      () => {
        if (!first) return Promise.resolve(BAD);
        first = false;
        return new Promise((resolve) => clock.setTimeout(() => resolve(OK), 800));
      },
      { clock, jitter: 0, random: () => 0, intervalMs: 2000, timeoutMs: 500, onCheck: (_e, r) => results.push(r) },
    );
    checker.add('a');
    await clock.advance(1000);
    expect(results).toEqual(['fail']);
    checker.close();
  });
});

describe('ActiveHealthChecker: idle interval', () => {
  const idle = { intervalMs: 2000, idleIntervalMs: 60_000, idleAfterMs: 10_000 };

  it('fully up with no traffic for idleAfterMs: the idle interval; traffic wakes it one interval after the last probe', async () => {
    const { clock, checker, probes } = setup(idle);
    checker.add('a');
    await clock.advance(70_000);
    expect(probes).toEqual([0, 2000, 4000, 6000, 8000, 10_000, 70_000]);
    await clock.advance(3000);
    checker.noteTraffic('a'); // at 73 000, more than an interval after the last probe: at once
    await clock.advance(0);
    expect(probes.at(-1)).toBe(73_000);
    await clock.advance(4000);
    expect(probes.slice(-3)).toEqual([73_000, 75_000, 77_000]);
  });

  it('traffic soon after the last probe keeps the normal spacing', async () => {
    const { clock, checker, probes } = setup(idle);
    checker.add('a');
    await clock.advance(11_000); // idle since the probe at 10 000
    checker.noteTraffic('a');
    await clock.advance(1000);
    expect(probes.slice(-2)).toEqual([10_000, 12_000]);
  });

  it('steady traffic keeps the normal interval', async () => {
    const { clock, checker, probes } = setup(idle);
    checker.add('a');
    for (let t = 0; t < 30; t++) {
      checker.noteTraffic('a');
      await clock.advance(1000);
    }
    expect(probes).toEqual(Array.from({ length: 16 }, (_, i) => i * 2000));
  });

  it('not fully up: no idle interval (fastinter going down, downinter down)', async () => {
    const { clock, checker, gaps } = setup({ ...idle, fastIntervalMs: 500, downIntervalMs: 5000 }, [
      ...Array<ProbeOutcome>(6).fill(OK),
      BAD,
      BAD,
      BAD,
      BAD,
    ]);
    checker.add('a');
    await clock.advance(100_000);
    // passes at 0..10 000, the 6th at 10 000 goes idle (60 s); then fail (fastinter), fail, fail (down: downinter), fail
    expect(gaps().slice(4, 10)).toEqual([2000, 60_000, 500, 500, 5000, 5000]);
  });

  it('noteTraffic on an endpoint not checked is a no-op', () => {
    const { checker } = setup(idle);
    expect(() => checker.noteTraffic('nope')).not.toThrow();
    expect(checker.state('nope')).toBe('up');
  });
});

describe('ActiveHealthChecker: jitter and spread', () => {
  it('each interval stays within ± jitter (HAProxy spread-checks), the first probe within one interval', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; // a fixed LCG, so the test is the same every run
      return seed / 2 ** 31;
    };
    const { clock, checker, probes, gaps } = setup({ intervalMs: 2000, jitter: 0.1, random });
    checker.add('a');
    await clock.advance(400_000);
    const g = gaps();
    expect(probes[0]).toBeGreaterThanOrEqual(0);
    expect(probes[0]).toBeLessThan(2000);
    expect(g.length).toBeGreaterThan(150);
    expect(Math.min(...g)).toBeGreaterThanOrEqual(1800);
    expect(Math.max(...g)).toBeLessThanOrEqual(2200);
    expect(Math.min(...g)).toBeLessThan(1850); // it does spread, both ways
    expect(Math.max(...g)).toBeGreaterThan(2150);
  });

  it('the extremes: random 0 gives interval × (1 + jitter), random → 1 gives interval × (1 − jitter)', async () => {
    for (const [r, gap] of [
      [0, 2200],
      [1 - 1e-12, 1800],
      [0.5, 2000],
    ] as const) {
      const { clock, checker, gaps } = setup({ intervalMs: 2000, jitter: 0.1, random: () => r });
      checker.add('a');
      await clock.advance(5000);
      expect(gaps()[0]).toBe(gap);
      checker.close();
    }
  });

  it('the default jitter is 0.1', async () => {
    const { clock, checker, gaps } = setup({ intervalMs: 2000, jitter: undefined, random: () => 0 });
    checker.add('a');
    await clock.advance(3000);
    expect(gaps()[0]).toBe(2200);
  });
});

describe('ActiveHealthChecker: remove, close, timers', () => {
  it('remove aborts the probe in flight, leaves no timer, and ignores its late answer', async () => {
    const clock = new ManualClock();
    const signals: AbortSignal[] = [];
    const checks: string[] = [];
    let answer: ((o: ProbeOutcome) => void) | undefined;
    const checker = new ActiveHealthChecker(
      (_e, signal) => {
        signals.push(signal);
        return new Promise((resolve) => {
          answer = resolve;
        });
      },
      { clock, random: () => 0, onCheck: (e) => checks.push(e) },
    );
    checker.add('a');
    await clock.advance(0);
    expect(signals).toHaveLength(1);
    checker.remove('a');
    expect(signals[0]?.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    answer?.(OK);
    await clock.advance(10_000);
    expect(checks).toEqual([]);
    expect(signals).toHaveLength(1);
    checker.remove('a'); // twice is harmless
  });

  it('remove between probes cancels the schedule; add again starts afresh', async () => {
    const { clock, checker, probes } = setup({ intervalMs: 1000 }, [REFUSED]);
    checker.add('a');
    await clock.advance(500);
    expect(checker.state('a')).toBe('down');
    checker.remove('a');
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(5000);
    expect(probes).toEqual([0]);
    checker.add('a');
    expect(checker.state('a')).toBe('up');
    await clock.advance(0);
    expect(probes).toEqual([0, 5500]);
    checker.close();
  });

  it('close aborts every probe in flight and leaves no timer; add after close does nothing', async () => {
    const clock = new ManualClock();
    const signals: AbortSignal[] = [];
    const checker = new ActiveHealthChecker(
      (endpoint, signal) => {
        signals.push(signal);
        return endpoint === 'b' ? new Promise(() => undefined) : Promise.resolve(OK);
      },
      { clock, random: () => 0 },
    );
    checker.add('a');
    checker.add('b');
    checker.add('c');
    await clock.advance(0);
    checker.close();
    expect(signals.map((s) => s.aborted)).toEqual([false, true, false]); // a and c had finished
    expect(clock.pendingTimers).toBe(0);
    checker.add('d');
    expect(clock.pendingTimers).toBe(0);
    checker.close();
  });

  it('every timer it sets is unref’d', async () => {
    const manual = new ManualClock();
    const handles: { refd: boolean }[] = [];
    const clock: Clock = {
      now: () => manual.now(),
      setTimeout(fn, ms) {
        const inner = manual.setTimeout(fn, ms);
        const state = { refd: true };
        handles.push(state);
        const handle: TimerHandle = {
          clear: () => inner.clear(),
          unref: () => {
            state.refd = false;
          },
          ref: () => {
            state.refd = true;
          },
        };
        return handle;
      },
    };
    const checker = new ActiveHealthChecker((e) => (e === 'slow' ? new Promise(() => undefined) : Promise.resolve(OK)), {
      clock,
      random: () => 0,
      idleAfterMs: 3000,
    });
    checker.add('a');
    checker.add('slow');
    await manual.advance(10_000);
    checker.noteTraffic('a'); // a wake from idle arms a timer too
    await manual.advance(2000);
    expect(handles.length).toBeGreaterThan(8);
    expect(handles.filter((h) => h.refd)).toEqual([]);
    checker.close();
  });

  it('on the system clock its timers do not keep the event loop alive', () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const checker = new ActiveHealthChecker(() => Promise.resolve(OK), { clock: systemClock, intervalMs: 60_000 });
    checker.add('a');
    checker.add('b');
    expect(timers()).toBe(before);
    checker.close();
  });
});

describe('ActiveHealthChecker: options', () => {
  const probe: Probe = () => Promise.resolve(OK);
  it.each([
    [{ timeoutMs: 2000 }, /^timeoutMs must be below intervalMs/],
    [{ intervalMs: 1000, timeoutMs: 1500 }, /^timeoutMs/],
    [{ intervalMs: 0 }, /^intervalMs/],
    [{ intervalMs: 3e9 }, /^intervalMs/],
    [{ fastIntervalMs: -1 }, /^fastIntervalMs/],
    [{ downIntervalMs: Number.NaN }, /^downIntervalMs/],
    [{ idleIntervalMs: 0 }, /^idleIntervalMs/],
    [{ idleAfterMs: -1 }, /^idleAfterMs/],
    [{ healthyThreshold: 0 }, /^healthyThreshold/],
    [{ unhealthyThreshold: 1.5 }, /^unhealthyThreshold/],
    [{ jitter: 0.6 }, /^jitter/],
    [{ initialState: 'maybe' as CheckState }, /^initialState/],
    [{ onChange: 'x' as unknown as undefined }, /^onChange/],
  ] as [ActiveCheckOptions, RegExp][])('%o is refused, naming the option', (options, message) => {
    let error: unknown;
    try {
      new ActiveHealthChecker(probe, options);
    } catch (e) {
      error = e;
    }
    expect(isNinesError(error, 'NINES_INVALID_OPTION')).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('a probe that is not a function, an empty endpoint and a bad state are refused', () => {
    expect(() => new ActiveHealthChecker(undefined as unknown as Probe)).toThrow(/^probe must be a function/);
    const checker = new ActiveHealthChecker(probe, { clock: new ManualClock() });
    expect(() => checker.add('')).toThrow(/^endpoint/);
    expect(() => checker.add('a', 'sideways' as CheckState)).toThrow(/^state/);
    checker.close();
  });

  it('adding an endpoint twice keeps the first', async () => {
    const { clock, checker, probes } = setup({ intervalMs: 1000 }, [REFUSED]);
    checker.add('a');
    await clock.advance(0);
    checker.add('a', 'up');
    expect(checker.state('a')).toBe('down');
    await clock.advance(1000);
    expect(probes).toEqual([0, 1000]);
    checker.close();
  });
});

describe('observeFailure (HAProxy observe layer4, on-error fail-check)', () => {
  it('each refused connection counts as a failed check: a fully up endpoint is down after fall of them, and its next probe is brought to fastinter once', async () => {
    const { clock, checker, probes, changes } = setup({ intervalMs: 2_000, fastIntervalMs: 500 });
    checker.add('a');
    await clock.advance(0); // first probe at 0 (random 0): passes, fully up (health rise + fall − 1)
    await clock.advance(2_000); // second pass, next probe due at 4 000
    expect(checker.state('a')).toBe('up');
    await clock.advance(100);
    checker.observeFailure('a');
    checker.observeFailure('a');
    expect(checker.state('a')).toBe('up'); // two of three
    checker.observeFailure('a');
    expect(checker.state('a')).toBe('down');
    expect(changes).toEqual([[2_100, 'a', 'down', 'fall']]);
    const before = probes.length;
    await clock.advance(500); // brought forward from 4 000 to 2 600, and not moved again by the later calls
    expect(probes.slice(before)).toEqual([2_600]);
    checker.observeFailure('unknown'); // not checked: ignored
  });

  it('with markDown (a refused connection) a fully up endpoint is down at once (on-error mark-down)', async () => {
    const { clock, checker, changes } = setup({ intervalMs: 2_000, fastIntervalMs: 500 });
    checker.add('a');
    await clock.advance(2_000); // two passes: fully up
    checker.observeFailure('a', true);
    expect(checker.state('a')).toBe('down');
    expect(changes).toEqual([[2_000, 'a', 'down', 'fall']]);
  });
});

describe('suspect (HAProxy on-error sudden-death, the check run at once)', () => {
  it('a reset leaves a fully up endpoint one failed check from down and probes it now, or a fast interval after the last probe', async () => {
    const { clock, checker, probes, changes, answers } = setup({ intervalMs: 2_000, fastIntervalMs: 500 });
    checker.add('a');
    await clock.advance(2_000); // probes at 0 and 2 000 pass: fully up, next due at 4 000
    await clock.advance(100);
    expect(checker.suspect('a')).toBe(true);
    expect(checker.state('a')).toBe('up'); // not down on a reset alone: a keep-alive race also resets
    await clock.advance(400);
    expect(probes).toEqual([0, 2_000, 2_500]); // fast interval after the last probe, not 4 000
    expect(changes).toEqual([]); // it passed: fully up again
    answers.push(REFUSED);
    await clock.advance(500);
    expect(checker.suspect('a')).toBe(true);
    await clock.advance(0); // the last probe ended 500 ms ago: this one runs now
    expect(probes.at(-1)).toBe(3_000);
    expect(changes).toEqual([[3_000, 'a', 'down', 'fall']]); // one failure after the reset: down
    expect(checker.suspect('a')).toBe(false); // already down: nothing to confirm
    expect(checker.suspect('unknown')).toBe(false);
    checker.close();
  });

  it('a probe already on its way is the one that decides', async () => {
    const clock = new ManualClock();
    const pending: Array<(o: ProbeOutcome) => void> = [];
    const checker = new ActiveHealthChecker(() => new Promise<ProbeOutcome>((r) => pending.push(r)), {
      clock,
      jitter: 0,
      random: () => 0,
      intervalMs: 2_000,
      timeoutMs: 1_000,
    });
    checker.add('a');
    await clock.advance(0);
    expect(pending).toHaveLength(1);
    expect(checker.suspect('a')).toBe(true);
    await clock.advance(0);
    expect(pending).toHaveLength(1); // no second probe beside it
    pending[0]?.({ error: new Error('connect ECONNREFUSED') });
    await clock.advance(0);
    expect(checker.state('a')).toBe('down');
    checker.close();
  });
});
