import { describe, expect, it } from 'vitest';
import {
  createMetricsRegistry,
  exposition,
  healthMetrics,
  lifecycleMetrics,
  negotiateExposition,
  policyMetrics,
} from '../../src/metrics/index.js';
import { hasPrometheusTools, promtoolCheck } from '../support/prometheus.js';

/** A library user's registry with every sink nines offers and Node's default metrics. */
function fullRegistry() {
  const registry = createMetricsRegistry({ defaultMetrics: true });
  const breaker = policyMetrics(registry).breaker('db');
  breaker.call('success');
  breaker.state('open');
  healthMetrics(registry).result({ name: 'db', status: 'healthy', critical: true, durationMs: 12, time: 0, tags: ['core'] });
  lifecycleMetrics(registry).inFlight(1);
  return registry;
}

describe('negotiateExposition', () => {
  it.each([
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['*/*', 'prometheus'],
    ['text/plain', 'prometheus'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'prometheus'],
    ['application/json', 'json'],
    ['application/openmetrics-text', 'openmetrics'],
    // what Prometheus 2.x sends
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    ['text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5', 'prometheus'],
    ['application/openmetrics-text;q=0', 'prometheus'],
    ['application/openmetrics-text;q=banana', 'prometheus'],
  ] as const)('%s -> %s', (accept, format) => {
    expect(negotiateExposition(accept)).toBe(format);
  });
});

describe('exposition', () => {
  it('leaves out the gauges named like counters and keeps their per-type gauges', async () => {
    const { body } = await exposition(fullRegistry(), 'prometheus');
    expect(body).not.toMatch(/nines_nodejs_active_(handles|requests|resources)_total/);
    expect(body).toContain('# TYPE nines_nodejs_active_handles gauge');
    expect(body).toContain('# TYPE nines_nodejs_active_resources gauge');
  });

  it('renders OpenMetrics 1.0.0 (counters as families, # EOF) and leaves the text format as it was', async () => {
    const registry = fullRegistry();
    const before = await exposition(registry, 'prometheus');
    // both at once: the OpenMetrics render renames counters in place while it runs
    const [om, during] = await Promise.all([exposition(registry, 'openmetrics'), exposition(registry, 'prometheus')]);
    expect(om.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(om.body.endsWith('# EOF\n')).toBe(true);
    expect(om.body).toContain('# TYPE nines_circuit_breaker_calls counter');
    expect(om.body).toContain('nines_circuit_breaker_calls_total{name="db",outcome="success"} 1');
    const after = await exposition(registry, 'prometheus');
    const stable = (s: string) => s.replace(/^nines_(process|nodejs)_.*$/gm, ''); // Node's own figures move between renders
    expect(before.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(after.contentType).toBe(before.contentType);
    expect(stable(during.body)).toBe(stable(before.body));
    expect(stable(after.body)).toBe(stable(before.body));
    expect(after.body).toContain('# TYPE nines_circuit_breaker_calls_total counter');
  });

  it('renders JSON', async () => {
    const { contentType, body } = await exposition(fullRegistry(), 'json');
    expect(contentType).toMatch(/^application\/json/);
    expect((JSON.parse(body) as Array<{ name: string }>).map((m) => m.name)).toContain('nines_health_checks_total');
  });

  it.skipIf(!hasPrometheusTools())('passes promtool check metrics: a library user registry with every sink', async () => {
    const { body } = await exposition(fullRegistry(), 'prometheus');
    expect(promtoolCheck(body)).toEqual({ status: 0, output: '' });
  });

  it.skipIf(!hasPrometheusTools())('promtool is a real check: it rejects a gauge named like a counter', () => {
    const bad = '# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n';
    const r = promtoolCheck(bad);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('non-counter metrics should not have "_total" suffix');
  });
});
