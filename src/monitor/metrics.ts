import type { Counter, Registry } from 'prom-client';
import { healthMetrics, METRICS, metric } from '../metrics/index.js';
import type { Monitor } from './monitor.js';
import { ROW_KINDS } from './store/split-write.js';
import type { ProbeStatus } from './store/types.js';

const PROBE_STATUSES: readonly ProbeStatus[] = ['healthy', 'degraded', 'unhealthy'];

/**
 * Registers the metrics the monitor's events drive on `registry` and subscribes them: probe results
 * (as health results: up, duration, count by status; degraded, certificate expiry), schedule lag,
 * flapping, dropped raw results and rows the store refused. The figures' gauges are read at scrape time instead (server/metrics.ts).
 */
export function monitorEventMetrics(registry: Registry, monitor: Monitor): void {
  const health = healthMetrics(registry);
  const checks = registry.getSingleMetric(METRICS.healthChecksTotal) as Counter<string>; // registered by healthMetrics
  const degraded = metric(registry, 'gauge', METRICS.componentDegraded, '1 while the latest check passed but slowly (degraded)', [
    'component',
  ]);
  for (const c of monitor.config.components) degraded.labels(c.name).set(0);
  const expiry = metric(
    registry,
    'gauge',
    METRICS.certificateExpiryTimestampSeconds,
    'Unix time (s) the TLS certificate the check last saw expires (https and tlsCertificate checks)',
    ['component'],
  );
  const counted = new Set<string>();
  monitor.on('result', (r) => {
    if (!counted.has(r.name)) {
      // every status from 0, so increase() sees the first failure (a series born at 1 hides it)
      for (const status of PROBE_STATUSES) checks.labels(r.name, status).inc(0);
      counted.add(r.name);
    }
    const component = monitor.config.components.find((c) => c.name === r.name);
    health.result({ ...r, critical: component?.critical ?? false, tags: component?.tags ?? [] });
    degraded.labels(r.name).set(r.status === 'degraded' ? 1 : 0);
    if (r.certificateExpiresAt !== undefined) expiry.labels(r.name).set(r.certificateExpiresAt / 1000);
  });
  const lag = metric(
    registry,
    'histogram',
    METRICS.scheduleLagSeconds,
    'How late scheduled checks start',
    [],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.5, 1, 5],
  );
  monitor.on('lag', (e) => lag.observe(e.lagMs / 1000));
  const flapping = metric(registry, 'gauge', METRICS.componentFlapping, '1 while a component flaps (alerts should hold off)', [
    'component',
  ]);
  // every component from its first result, also one a reload added, so `== 1` has a series to compare
  const known = new Set<string>();
  const track = (name: string) => {
    if (known.has(name)) return;
    known.add(name);
    flapping.labels(name).set(0);
  };
  for (const c of monitor.config.components) track(c.name);
  monitor.on('result', (r) => track(r.name));
  monitor.on('flapping', (e) => {
    known.add(e.component);
    flapping.labels(e.component).set(e.flapping ? 1 : 0);
  });
  const suspect = metric(
    registry,
    'gauge',
    METRICS.monitorConnectivitySuspect,
    '1 while the monitor suspects its own network (a canary fails, or every target at once): failures then count as unobserved',
    [],
  );
  suspect.set(0);
  monitor.on('connectivity', (e) => suspect.set(e.suspect ? 1 : 0));
  const dropped = metric(
    registry,
    'counter',
    METRICS.checksDroppedTotal,
    'Raw check results dropped because the store could not take them',
    [],
  );
  monitor.on('dropped', (e) => dropped.inc(e.checks));
  const rejected = metric(
    registry,
    'counter',
    METRICS.storeRowsRejectedTotal,
    'Rows the store refused for their data (a constraint, a bad value), set aside and never retried',
    ['kind'],
  );
  for (const kind of ROW_KINDS) rejected.labels(kind).inc(0);
  monitor.on('rejected', (e) => rejected.labels(e.kind).inc());
}
