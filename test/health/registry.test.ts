import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HealthCheckRegistry } from '../../src/health/registry.js';
import { overallStatus } from '../../src/health/status.js';
import type { CheckResult } from '../../src/health/types.js';
import { healthMetrics } from '../../src/metrics/index.js';
import { ManualClock } from '../../src/policy/index.js';

const sleepOn = (clock: ManualClock, ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
const down = () => {
  throw new Error('connection refused');
};

describe('HealthCheckRegistry', () => {
  it('reports unknown before the first run, then each check with duration, time and error', async () => {
    const clock = new ManualClock(1_000);
    const registry = new HealthCheckRegistry({ clock })
      .register('db', () => ({ details: { version: '15' } }), { critical: true, tags: ['sql'] })
      .register('cache', down);
    expect(registry.report().status).toBe('unknown');
    expect(registry.report().checks.map((c) => c.status)).toEqual(['unknown', 'unknown']);
    const report = await registry.runAll();
    expect(report.status).toBe('degraded');
    expect(report.checks).toEqual([
      { name: 'db', status: 'healthy', critical: true, durationMs: 0, time: 1_000, details: { version: '15' }, tags: ['sql'] },
      { name: 'cache', status: 'unhealthy', critical: false, durationMs: 0, time: 1_000, error: 'connection refused', tags: [] },
    ]);
  });

  it('a run past its timeout is unhealthy with error "timeout", and its signal is aborted', async () => {
    const clock = new ManualClock();
    let signal: AbortSignal | undefined;
    const registry = new HealthCheckRegistry({ clock }).register(
      'slow',
      (ctx) => {
        signal = ctx.signal;
        return new Promise(() => undefined);
      },
      { timeout: 2000 },
    );
    const run = registry.run('slow');
    await clock.advance(2000);
    expect(await run).toMatchObject({ status: 'unhealthy', error: 'timeout', durationMs: 2000 });
    expect(signal?.aborted).toBe(true);
  });

  it('a passing run slower than degradedAfter is degraded; a check can report its own status', async () => {
    const clock = new ManualClock();
    const registry = new HealthCheckRegistry({ clock })
      .register('slow', () => sleepOn(clock, 1500), { degradedAfter: 1000 })
      .register('self', () => ({ status: 'degraded' as const, error: 'replica lag 40 s' }));
    const run = registry.runAll();
    await clock.advance(1500);
    const report = await run;
    expect(report.checks[0]).toMatchObject({ status: 'degraded', error: 'slow: 1500 ms > 1000 ms' });
    expect(report.checks[1]).toMatchObject({ status: 'degraded', error: 'replica lag 40 s' });
  });

  it('never runs a check twice at once (single flight)', async () => {
    const clock = new ManualClock();
    let runs = 0;
    const registry = new HealthCheckRegistry({ clock }).register('db', async () => {
      runs++;
      await sleepOn(clock, 100);
    });
    const a = registry.run('db');
    const b = registry.runAll();
    const c = registry.run('db');
    await clock.advance(100);
    await Promise.all([a, b, c]);
    expect(runs).toBe(1);
    const next = registry.run('db'); // the first run has ended: this is a new one
    await clock.advance(100);
    await next;
    expect(runs).toBe(2);
  });

  it('background mode runs each check now and then every interval after the previous run ends', async () => {
    const clock = new ManualClock();
    const startedAt: number[] = [];
    const registry = new HealthCheckRegistry({ clock, interval: 1000 }).register('db', async () => {
      startedAt.push(clock.now());
      await sleepOn(clock, 300);
    });
    registry.start();
    await clock.advance(3000);
    expect(startedAt).toEqual([0, 1300, 2600]);
    registry.stop();
    await clock.advance(5000);
    expect(startedAt).toHaveLength(3);
    expect(clock.pendingTimers).toBe(0);
  });

  it('overall status: critical unhealthy > unknown > degraded or non-critical unhealthy > healthy', () => {
    const r = (status: CheckResult['status'], critical = false): CheckResult => ({
      name: 'x',
      status,
      critical,
      durationMs: 0,
      time: 0,
      tags: [],
    });
    expect(overallStatus([])).toBe('healthy');
    expect(overallStatus([r('healthy'), r('healthy', true)])).toBe('healthy');
    expect(overallStatus([r('healthy'), r('unhealthy')])).toBe('degraded');
    expect(overallStatus([r('degraded', true)])).toBe('degraded');
    expect(overallStatus([r('unknown', true), r('degraded')])).toBe('unknown');
    expect(overallStatus([r('unknown'), r('healthy', true)])).toBe('degraded'); // a non-critical check never holds it at unknown
    expect(overallStatus([r('unknown'), r('unhealthy', true)])).toBe('unhealthy');
  });

  it('tracks how long liveness checks have been unhealthy', async () => {
    const clock = new ManualClock();
    let failing = true;
    const registry = new HealthCheckRegistry({ clock })
      .register(
        'db',
        () => {
          if (failing) throw new Error('down');
        },
        { liveness: true },
      )
      .register('other', down);
    await registry.runAll();
    await clock.advance(60_000);
    await registry.runAll();
    expect(registry.prolongedFailures(60_000)).toEqual(['db']); // 'other' is not a liveness check
    expect(registry.prolongedFailures(60_001)).toEqual([]);
    failing = false;
    await registry.runAll();
    expect(registry.prolongedFailures(0)).toEqual([]);
  });

  it('emits statusChange and feeds the metrics sink', async () => {
    const clock = new ManualClock();
    const prom = new Registry();
    let healthy = true;
    const registry = new HealthCheckRegistry({ clock, metrics: healthMetrics(prom) }).register(
      'db',
      () => {
        if (!healthy) throw new Error('down');
      },
      { critical: true },
    );
    const changes: string[] = [];
    registry.on('statusChange', (e) => changes.push(`${e.from}->${e.to}`));
    await registry.runAll();
    healthy = false;
    await registry.runAll();
    await registry.runAll();
    expect(changes).toEqual(['unknown->healthy', 'healthy->unhealthy']);
    const text = await prom.metrics();
    expect(text).toContain('nines_component_up{component="db"} 0');
    expect(text).toContain('nines_health_checks_total{component="db",status="healthy"} 1');
    expect(text).toContain('nines_health_checks_total{component="db",status="unhealthy"} 2');
    expect(text).toContain('nines_health_check_duration_seconds_count{component="db"} 3');
  });

  it('rejects bad registrations with a TypeError naming the problem', () => {
    const registry = new HealthCheckRegistry().register('db', () => undefined);
    expect(() => registry.register('db', () => undefined)).toThrow(/already registered/);
    expect(() => registry.register('', () => undefined)).toThrow(/^name/);
    expect(() => registry.register('x', 'nope' as never)).toThrow(/^check/);
    expect(() => registry.register('y', () => undefined, { timeout: 0 })).toThrow(/^timeout/);
    expect(() => registry.register('z', () => undefined, { degradedAfter: -1 })).toThrow(/^degradedAfter/);
    expect(() => new HealthCheckRegistry({ interval: Number.NaN })).toThrow(/^interval/);
    return expect(registry.run('missing')).rejects.toThrow(/no check named/);
  });
});
