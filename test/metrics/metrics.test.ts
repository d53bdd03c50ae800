import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, healthMetrics, lifecycleMetrics, METRICS, metric, policyMetrics } from '../../src/metrics/index.js';

describe('metrics module', () => {
  it('names every metric with the nines_ prefix, units as suffix and _total on counters', () => {
    for (const name of Object.values(METRICS)) expect(name).toMatch(/^nines_[a-z_]+$/);
    expect(METRICS.healthChecksTotal.endsWith('_total')).toBe(true);
    expect(METRICS.healthCheckDurationSeconds.endsWith('_seconds')).toBe(true);
  });

  it('createMetricsRegistry adds Node default metrics only when asked', async () => {
    expect((await createMetricsRegistry().metrics()).trim()).toBe('');
    const text = await createMetricsRegistry({ defaultMetrics: true }).metrics();
    expect(text).toContain('nines_process_cpu_user_seconds_total');
    expect(text).toContain('nines_nodejs_heap_size_used_bytes');
  });

  it('every sink can share one registry: a second one reuses the metrics', async () => {
    const registry = createMetricsRegistry();
    for (let i = 0; i < 2; i++) {
      policyMetrics(registry).breaker('db').call('success');
      healthMetrics(registry).result({ name: 'db', status: 'healthy', critical: true, durationMs: 12, time: 0, tags: [] });
      lifecycleMetrics(registry).inFlight(1);
    }
    const text = await registry.metrics();
    expect(text).toContain('nines_circuit_breaker_calls_total{name="db",outcome="success"} 2');
    expect(text).toContain('nines_health_checks_total{component="db",status="healthy"} 2');
    expect(text).toContain('nines_http_requests_in_flight 2');
    expect(metric(registry, 'counter', METRICS.healthChecksTotal, 'ignored', [])).toBe(registry.getSingleMetric(METRICS.healthChecksTotal));
  });
});
