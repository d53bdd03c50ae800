import { describe, expect, it } from 'vitest';
import { type Clock, ManualClock } from '../../../src/core/clock.js';
import { isNinesError } from '../../../src/core/errors.js';
import { type DegradationChange, DegradationManager, type DegradationRule } from '../../../src/degrade/levels/index.js';
import { HealthCheckRegistry } from '../../../src/health/registry.js';
import { CircuitBreaker } from '../../../src/policy/circuit-breaker.js';
import { CircuitBreakerRegistry } from '../../../src/policy/circuit-breaker-registry.js';

const INTERVAL = 1000;

/** A registry on a manual clock with `redis` and `postgres` checks that fail while their flag says so. */
function healthOf(clock: ManualClock) {
  const up = { redis: true, postgres: true };
  const registry = new HealthCheckRegistry({ clock, interval: INTERVAL });
  for (const name of ['redis', 'postgres'] as const) {
    registry.register(name, () => {
      if (!up[name]) throw new Error(`${name} refused`);
    });
  }
  return { up, registry };
}

const RULES: DegradationRule[] = [
  { when: { check: 'redis', status: 'unhealthy' }, level: 'degraded' },
  { when: { check: 'postgres', status: 'unhealthy' }, level: 'minimal', reason: 'the database is down' },
];

/** A manager over `healthOf(clock)` with {@link RULES}, and the change records it emits. */
function managed(clock: ManualClock) {
  const { up, registry } = healthOf(clock);
  const m = new DegradationManager({ rules: RULES, health: registry, clock });
  return { up, registry, m, changes: recorded(m) };
}

/** Every change record `m` emits from now on. */
function recorded(m: DegradationManager): DegradationChange[] {
  const changes: DegradationChange[] = [];
  m.on('change', (c) => changes.push(c));
  return changes;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('DegradationManager options', () => {
  const clock = new ManualClock();
  const { registry } = healthOf(clock);
  const breakers = new CircuitBreakerRegistry({ clock });
  breakers.getOrCreate('payments');
  it.each([
    [{ rules: {} }, /^rules must be an array/],
    [
      { rules: [{ when: { check: 'redis', status: 'down' }, level: 'degraded' }] },
      /^rules\[0\]\.when\.status must be one or more of healthy, degraded, unhealthy, unknown, got "down"/,
    ],
    [{ rules: [{ when: { check: 'redis', status: [] }, level: 'degraded' }] }, /^rules\[0\]\.when\.status must be one or more/],
    [{ rules: [{ when: { check: 'redis', status: 'unhealthy' }, level: 'full' }] }, /^rules\[0\]\.level must be worse than full/],
    [
      { rules: [{ when: { check: 'redis', status: 'unhealthy' }, level: 'low' }] },
      /^rules\[0\]\.level must be one of full, degraded, minimal, maintenance, got "low"/,
    ],
    [
      { rules: [{ when: { breaker: 'payments', state: 'shut' }, level: 'minimal' }] },
      /^rules\[0\]\.when\.state must be one or more of closed, open, half-open, isolated/,
    ],
    [
      { rules: [{ when: { breaker: 'payments', check: 'redis', status: 'unhealthy' }, level: 'minimal' }] },
      /^rules\[0\]\.when must name a breaker or a check, not both/,
    ],
    [{ rules: [{ when: { state: 'open' }, level: 'minimal' }] }, /^rules\[0\]\.when\.state needs a breaker/],
    [
      { rules: [{ when: { breaker: 'nope', state: 'open' }, level: 'minimal' }] },
      /^rules\[0\]\.when\.breaker "nope" is not among the breakers option/,
    ],
    [{ rules: [RULES[0], { ...RULES[0], level: 'minimal' }] }, /^rules\[1\]\.name "check:redis:unhealthy" is already used/],
    [{ rules: [{ ...RULES[0], name: 'manual' }] }, /^rules\[0\]\.name "manual" is reserved/],
    [{ rules: [{ ...RULES[0], reason: '' }] }, /^rules\[0\]\.reason must be a non-empty string/],
    [{ rules: [null] }, /^rules\[0\] must be an object/],
    [{ health: {} }, /^health must be a health registry/],
  ])('rejects %j', (options, message) => {
    const error = thrown(() => new DegradationManager({ health: registry, breakers, ...(options as object) }));
    expect(isNinesError(error, 'NINES_INVALID_OPTION')).toBe(true);
    expect(error.message).toMatch(message);
  });

  it('a health rule needs the health option', () => {
    expect(thrown(() => new DegradationManager({ rules: RULES })).message).toMatch(
      /^rules\[0\]\.when reads health checks: the health option is missing/,
    );
  });

  it('set() checks its level, author, reason and end', () => {
    const m = new DegradationManager({ clock });
    expect(thrown(() => m.set('off' as never, { by: 'ops', reason: 'x' })).message).toMatch(/^level must be one of/);
    expect(thrown(() => m.set('minimal', { by: '', reason: 'x' })).message).toMatch(/^by must be a non-empty string/);
    expect(thrown(() => m.set('minimal', { by: 'ops' } as never)).message).toMatch(/^reason must be a non-empty string/);
    expect(thrown(() => m.set('minimal', { by: 'ops', reason: 'x', until: clock.now() })).message).toMatch(
      /^until must be a wall-clock time in ms later than now/,
    );
    expect(thrown(() => m.feature('top' as never)).message).toMatch(/^minLevel must be one of/);
    expect(m.level).toBe('full');
  });
});

describe('levels from health rules', () => {
  it('follows each health result: the worst matching rule wins, and the level returns to full', async () => {
    const clock = new ManualClock(1_000_000);
    const { up, registry, m, changes } = managed(clock);
    registry.start();
    await clock.advance(0);
    expect(m.state()).toEqual({ level: 'full', reason: 'no rule matches', source: 'rules', since: 1_000_000 });

    up.redis = false;
    await clock.advance(INTERVAL); // the next run of each check
    expect(m.level).toBe('degraded');
    expect(m.reason).toBe('check redis is unhealthy');
    expect(m.state()).toMatchObject({ level: 'degraded', source: 'rules', rule: 'check:redis:unhealthy', since: 1_001_000 });

    up.postgres = false;
    await clock.advance(INTERVAL);
    expect(m.state()).toMatchObject({ level: 'minimal', reason: 'the database is down', rule: 'check:postgres:unhealthy' });

    up.postgres = true;
    await clock.advance(INTERVAL);
    expect(m.level).toBe('degraded');
    up.redis = true;
    await clock.advance(INTERVAL);
    expect(m.level).toBe('full');

    expect(changes).toEqual([
      {
        at: 1_001_000,
        by: 'rules',
        from: 'full',
        to: 'degraded',
        reason: 'check redis is unhealthy',
        source: 'rules',
        rule: 'check:redis:unhealthy',
      },
      {
        at: 1_002_000,
        by: 'rules',
        from: 'degraded',
        to: 'minimal',
        reason: 'the database is down',
        source: 'rules',
        rule: 'check:postgres:unhealthy',
      },
      {
        at: 1_003_000,
        by: 'rules',
        from: 'minimal',
        to: 'degraded',
        reason: 'check redis is unhealthy',
        source: 'rules',
        rule: 'check:redis:unhealthy',
      },
      { at: 1_004_000, by: 'rules', from: 'degraded', to: 'full', reason: 'no rule matches', source: 'rules' },
    ]);
    expect(JSON.parse(JSON.stringify(changes))).toEqual(changes);
    registry.stop();
    m.close();
  });

  it('a rule on the overall status, with several statuses', async () => {
    const clock = new ManualClock();
    const registry = new HealthCheckRegistry({ clock });
    let fail = false;
    registry.register(
      'db',
      () => {
        if (fail) throw new Error('down');
      },
      { critical: true },
    );
    const m = new DegradationManager({
      rules: [{ when: { status: ['unhealthy', 'unknown'] }, level: 'maintenance' }],
      health: registry,
      clock,
    });
    expect(m.state()).toMatchObject({ level: 'maintenance', reason: 'health is unknown', rule: 'health:unhealthy|unknown' }); // no result yet
    await registry.runAll();
    expect(m.level).toBe('full');
    fail = true;
    await registry.run('db');
    expect(m.reason).toBe('health is unhealthy');
    m.close();
    fail = false;
    await registry.run('db');
    expect(m.level).toBe('maintenance'); // closed: it no longer follows the registry
  });

  it('features switch off below their minimum level, and isAtLeast compares levels', async () => {
    const { up, registry, m } = managed(new ManualClock());
    const recommendations = m.feature('full');
    const checkout = m.feature('minimal');
    up.redis = false;
    await registry.runAll();
    expect([m.current(), recommendations(), checkout()]).toEqual(['degraded', false, true]);
    expect([m.isAtLeast('full'), m.isAtLeast('degraded'), m.isAtLeast('maintenance')]).toEqual([false, true, true]);
    up.redis = true;
    await registry.runAll();
    expect([m.current(), recommendations(), checkout()]).toEqual(['full', true, true]);
  });
});

describe('levels from circuit breakers', () => {
  it('an open breaker sets the level; when its open time is up it goes half-open and the level follows', async () => {
    const clock = new ManualClock();
    const payments = new CircuitBreaker({ name: 'payments', clock, failureThreshold: 1, openDuration: 30_000, successThreshold: 1 });
    const m = new DegradationManager({
      rules: [{ when: { breaker: 'payments', state: 'open' }, level: 'minimal' }],
      breakers: [payments],
      clock,
    });
    const changes = recorded(m);
    await payments.execute(() => Promise.reject(new Error('502'))).catch(() => undefined);
    expect(m.state()).toMatchObject({ level: 'minimal', reason: 'breaker payments is open', rule: 'breaker:payments:open', since: 0 });

    await clock.advance(29_999);
    expect(m.level).toBe('minimal');
    await clock.advance(1); // nobody calls the breaker: the manager reads it when its time is up
    expect(m.level).toBe('full');
    expect(payments.state).toBe('half-open');
    await payments.execute(() => Promise.reject(new Error('502'))).catch(() => undefined); // the probe fails
    expect(m.level).toBe('minimal');
    await clock.advance(30_000);
    await payments.execute(async () => 'ok');
    expect([payments.state, m.level]).toEqual(['closed', 'full']);
    expect(changes.map((c) => `${c.to}@${c.at}`)).toEqual(['minimal@0', 'full@30000', 'minimal@30000', 'full@60000']);
    m.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('breakers from a registry; half-open and isolated can be matched too; a breaker open at start counts', async () => {
    const clock = new ManualClock();
    const breakers = new CircuitBreakerRegistry({ clock, failureThreshold: 1, openDuration: 10_000 });
    const search = breakers.getOrCreate('search');
    const hold = search.isolate();
    const m = new DegradationManager({
      rules: [{ when: { breaker: 'search', state: ['open', 'half-open', 'isolated'] }, level: 'degraded', reason: 'search is off' }],
      breakers,
      clock,
    });
    expect(m.state()).toMatchObject({ level: 'degraded', reason: 'search is off' });
    hold.release();
    expect(m.level).toBe('full');
    await search.execute(() => Promise.reject(new Error('boom'))).catch(() => undefined);
    await clock.advance(10_000);
    expect([search.state, m.level]).toEqual(['half-open', 'degraded']);
    m.close();
  });
});

describe('manual override', () => {
  it('wins over the rules while set, is recorded with who and why, and clear() hands back to the rules', async () => {
    const clock = new ManualClock(5000);
    const { up, registry, m, changes } = managed(clock);

    m.set('maintenance', { by: 'alice', reason: 'database migration' });
    expect(m.state()).toEqual({ level: 'maintenance', reason: 'database migration', source: 'manual', since: 5000, by: 'alice' });
    up.redis = false;
    await registry.runAll();
    expect(m.level).toBe('maintenance'); // the rules say degraded; the override holds
    await clock.advance(100);
    m.set('full', { by: 'bob', reason: 'redis check is flaky, ignore it' });
    expect(m.state()).toMatchObject({ level: 'full', source: 'manual', by: 'bob' });
    expect(m.clear({ by: 'carol', reason: 'migration done' })).toBe(true);
    expect(m.state()).toMatchObject({ level: 'degraded', reason: 'check redis is unhealthy', source: 'rules' });
    expect(m.clear()).toBe(false);

    expect(changes).toEqual([
      { at: 5000, by: 'alice', from: 'full', to: 'maintenance', reason: 'database migration', source: 'manual' },
      { at: 5100, by: 'bob', from: 'maintenance', to: 'full', reason: 'redis check is flaky, ignore it', source: 'manual' },
      { at: 5100, by: 'carol', from: 'full', to: 'degraded', reason: 'migration done', source: 'manual', rule: 'check:redis:unhealthy' },
    ]);
  });

  it('lapses at until, recorded as an expiry', async () => {
    const clock = new ManualClock(0);
    const m = new DegradationManager({ clock });
    const changes = recorded(m);
    m.set('minimal', { by: 'ops', reason: 'load test', until: 60_000 });
    expect(m.state()).toMatchObject({ level: 'minimal', until: 60_000 });
    await clock.advance(59_999);
    expect(m.level).toBe('minimal');
    await clock.advance(1);
    expect(m.state()).toEqual({ level: 'full', reason: 'no rule matches', source: 'rules', since: 60_000 });
    expect(changes).toEqual([
      { at: 0, by: 'ops', from: 'full', to: 'minimal', reason: 'load test', source: 'manual', until: 60_000 },
      { at: 60_000, by: 'ops', from: 'minimal', to: 'full', reason: 'override by ops expired', source: 'expiry' },
    ]);
  });

  it('an override longer than a Node timer can wait (2^31-1 ms) still lapses at its until, not before', async () => {
    const clock = new ManualClock(0);
    const delays: number[] = [];
    const recording: Clock = {
      now: () => clock.now(),
      setTimeout: (fn, ms) => {
        delays.push(ms);
        return clock.setTimeout(fn, ms);
      },
    };
    const m = new DegradationManager({ clock: recording });
    const day = 86_400_000;
    m.set('minimal', { by: 'ops', reason: 'long freeze', until: 60 * day });
    await clock.advance(59 * day);
    expect(m.level).toBe('minimal');
    await clock.advance(day);
    expect([m.level, m.source]).toEqual(['full', 'rules']);
    expect(clock.pendingTimers).toBe(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('a new override replaces the old one and its end; clear() without options records the author', async () => {
    const clock = new ManualClock(0);
    const m = new DegradationManager({ clock });
    m.set('minimal', { by: 'ops', reason: 'a', until: 1000 });
    m.set('degraded', { by: 'ops', reason: 'b' });
    await clock.advance(2000);
    expect(m.state()).toMatchObject({ level: 'degraded', reason: 'b', source: 'manual', since: 0 });
    const changes = recorded(m);
    m.clear();
    expect(changes).toEqual([{ at: 2000, by: 'ops', from: 'degraded', to: 'full', reason: 'no rule matches', source: 'manual' }]);
    expect(clock.pendingTimers).toBe(0);
  });
});
