import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { policyMetrics } from '../../src/metrics/index.js';
import { CircuitBreaker, CircuitBreakerRegistry, type CircuitBreakerSnapshot, ManualClock } from '../../src/policy/index.js';
import { boom, ok } from './helpers.js';

describe('CircuitBreaker snapshots', () => {
  it('round-trips an open breaker through JSON, keeping the time it half-opens', async () => {
    const clock = new ManualClock(1_000);
    const a = new CircuitBreaker({ failureThreshold: 1, openDuration: 5_000, clock });
    await a.execute(boom).catch(() => undefined);
    await clock.advance(2_000);
    const saved = JSON.parse(JSON.stringify(a)) as CircuitBreakerSnapshot;
    expect(saved).toMatchObject({ version: 1, state: 'open', since: 1_000, openUntil: 6_000 });

    const b = new CircuitBreaker({ failureThreshold: 1, openDuration: 5_000, clock, snapshot: saved });
    expect(b.state).toBe('open');
    await expect(b.execute(ok)).rejects.toMatchObject({ code: 'NINES_BREAKER_OPEN', retryAfterMs: 3_000 });
    await clock.advance(3_000);
    expect(b.state).toBe('half-open');
  });

  it('keeps window contents, so a restart does not forget recent failures', async () => {
    for (const mode of ['consecutive', 'count', 'time'] as const) {
      const clock = new ManualClock(10_000);
      const options = { mode, failureThreshold: 3, windowSize: 10, minimumThroughput: 3, failureRateThreshold: 60, clock };
      const a = new CircuitBreaker(options);
      await a.execute(boom).catch(() => undefined);
      await a.execute(boom).catch(() => undefined);
      const b = new CircuitBreaker({ ...options, snapshot: JSON.parse(JSON.stringify(a.toJSON())) });
      await b.execute(boom).catch(() => undefined);
      expect(b.state, mode).toBe('open');
    }
  });

  it('restores isolation, released by reset()', () => {
    const a = new CircuitBreaker({ clock: new ManualClock() });
    a.isolate();
    const b = new CircuitBreaker({ clock: new ManualClock(), snapshot: a.toJSON() });
    expect(b.state).toBe('isolated');
    b.reset();
    expect(b.state).toBe('closed');
  });

  it('rejects a snapshot that is not one', () => {
    expect(() => new CircuitBreaker({ snapshot: { version: 2 } as unknown as CircuitBreakerSnapshot })).toThrow(/snapshot/);
    expect(() => new CircuitBreaker({ snapshot: { ...new CircuitBreaker().toJSON(), state: 'ajar' as 'open' } })).toThrow(/snapshot.state/);
  });
});

describe('CircuitBreaker option validation', () => {
  it.each([
    [{ failureThreshold: 0 }, 'failureThreshold'],
    [{ failureThreshold: Number.NaN }, 'failureThreshold'],
    [{ resetTimeout: -1 }, 'resetTimeout'],
    [{ mode: 'count', failureRateThreshold: 101 }, 'failureRateThreshold'],
    [{ mode: 'time', slowCallRateThreshold: -5 }, 'slowCallRateThreshold'],
    [{ mode: 'count', minimumThroughput: 0 }, 'minimumThroughput'],
    [{ mode: 'count', windowSize: 1.5 }, 'windowSize'],
    [{ mode: 'time', windowDuration: 0 }, 'windowDuration'],
    [{ openDuration: -1 }, 'openDuration'],
    [{ openDurationGrowth: { multiplier: 0.5, max: 100_000 } }, 'openDurationGrowth.multiplier'],
    [{ halfOpenMaxCalls: 0 }, 'halfOpenMaxCalls'],
    [{ successThreshold: 0 }, 'successThreshold'],
    [{ mode: 'sometimes' }, 'mode'],
    [{ shouldHandle: 'yes' }, 'shouldHandle'],
  ])('%o throws a TypeError naming %s', (options, name) => {
    expect(() => new CircuitBreaker(options as never)).toThrow(TypeError);
    expect(() => new CircuitBreaker(options as never)).toThrow(new RegExp(`^${name.replace('.', '\\.')}`));
  });
});

describe('CircuitBreakerRegistry', () => {
  it('shares one breaker per name, lists figures and resets all', async () => {
    const clock = new ManualClock(42);
    const registry = new CircuitBreakerRegistry({ failureThreshold: 1, clock });
    const db = registry.getOrCreate('db');
    expect(registry.getOrCreate('db')).toBe(db);
    const api = registry.getOrCreate('api', { failureThreshold: 2 });
    await db.execute(boom).catch(() => undefined);
    await db.execute(ok).catch(() => undefined);
    await api.execute(boom).catch(() => undefined);
    expect(registry.list()).toEqual([
      { name: 'api', state: 'closed', since: 42, calls: 1, successes: 0, failures: 1, rejections: 0 },
      { name: 'db', state: 'open', since: 42, calls: 1, successes: 0, failures: 1, rejections: 1 },
    ]);
    registry.resetAll();
    expect(registry.list().map((b) => b.state)).toEqual(['closed', 'closed']);
    expect(registry.get('nope')).toBeUndefined();
  });
});

describe('policy metrics', () => {
  it('reports breaker state and calls on the given prom-client registry', async () => {
    const registry = new Registry();
    const metrics = policyMetrics(registry);
    const breaker = new CircuitBreaker({ name: 'db', failureThreshold: 1, clock: new ManualClock(), metrics });
    await breaker.execute(ok);
    await breaker.execute(boom).catch(() => undefined);
    await breaker.execute(ok).catch(() => undefined);
    const text = await registry.metrics();
    expect(text).toContain('nines_circuit_breaker_state{name="db",state="open"} 1');
    expect(text).toContain('nines_circuit_breaker_state{name="db",state="closed"} 0');
    expect(text).toContain('nines_circuit_breaker_calls_total{name="db",outcome="success"} 1');
    expect(text).toContain('nines_circuit_breaker_calls_total{name="db",outcome="failure"} 1');
    expect(text).toContain('nines_circuit_breaker_calls_total{name="db",outcome="rejected"} 1');
    // a second sink on the same registry reuses the metrics instead of throwing
    expect(() => policyMetrics(registry).breaker('other')).not.toThrow();
  });
});
