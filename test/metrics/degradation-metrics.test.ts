import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { DegradationManager } from '../../src/degrade/levels/index.js';
import { HealthCheckRegistry } from '../../src/health/registry.js';
import { createMetricsRegistry, degradationMetrics } from '../../src/metrics/index.js';

/** The value of every series of `name` in the text exposition, keyed by its labels. */
async function series(registry: ReturnType<typeof createMetricsRegistry>, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await registry.metrics()).split('\n')) {
    const m = line.match(new RegExp(`^${name}\\{(.*)\\} (\\S+)$`));
    if (m) out[m[1] as string] = Number(m[2]);
  }
  return out;
}

describe('degradationMetrics', () => {
  it('exports the level and its bounded reason as state sets, every series from the start', async () => {
    const registry = createMetricsRegistry();
    const clock = new ManualClock();
    const health = new HealthCheckRegistry({ clock });
    let up = true;
    health.register('redis', () => {
      if (!up) throw new Error('refused');
    });
    const m = new DegradationManager({
      rules: [{ name: 'redis-down', when: { check: 'redis', status: 'unhealthy' }, level: 'degraded' }],
      health,
      clock,
      metrics: degradationMetrics(registry),
    });
    expect(await series(registry, 'nines_degradation_level')).toEqual({
      'level="full"': 1,
      'level="degraded"': 0,
      'level="minimal"': 0,
      'level="maintenance"': 0,
    });
    expect(await series(registry, 'nines_degradation_reason')).toEqual({
      'reason="none"': 1,
      'reason="manual"': 0,
      'reason="redis-down"': 0,
    });

    up = false;
    await health.runAll();
    expect(await series(registry, 'nines_degradation_level')).toMatchObject({ 'level="full"': 0, 'level="degraded"': 1 });
    expect(await series(registry, 'nines_degradation_reason')).toEqual({
      'reason="none"': 0,
      'reason="manual"': 0,
      'reason="redis-down"': 1,
    });

    m.set('maintenance', { by: 'ops', reason: 'free text never becomes a label' });
    expect(await series(registry, 'nines_degradation_level')).toMatchObject({ 'level="degraded"': 0, 'level="maintenance"': 1 });
    expect(await series(registry, 'nines_degradation_reason')).toEqual({
      'reason="none"': 0,
      'reason="manual"': 1,
      'reason="redis-down"': 0,
    });
    m.close();
  });
});
