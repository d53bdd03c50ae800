/** The metrics the monitor's events drive, on a real prom-client registry, from probes on a ManualClock. */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { monitorEventMetrics } from '../../src/monitor/metrics.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';

const YAML = `
components:
  - { name: api, critical: true, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: cache, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }
`;

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

/** A started monitor of YAML's components over an in-memory store, its probes answering `result(component)`, with its event metrics on a registry. */
async function monitored(result: (component: string) => Omit<ProbeResult, 'name' | 'time'>) {
  const parsed = parseConfig(YAML, { env: {} });
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const store = await openStore('sqlite::memory:');
  stores.push(store);
  const probe = (c: { name: string }) => async (): Promise<ProbeResult> => ({ name: c.name, time: clock.now(), ...result(c.name) });
  const monitor = new Monitor({ config: parsed.config, store, clock, probe });
  const registry = new Registry();
  monitorEventMetrics(registry, monitor);
  await monitor.start();
  return { clock, monitor, registry };
}

describe('monitorEventMetrics', () => {
  it('counts probes by status, marks components up, down or degraded, and exports lag, flapping, drops and refused rows from the start', async () => {
    const { clock, monitor, registry } = await monitored((c) => ({ durationMs: 4, status: c === 'cache' ? 'unhealthy' : 'healthy' }));
    await clock.advance(5_000);
    await monitor.stop();
    const text = await registry.metrics();
    const value = (line: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${line} `))
          ?.split(' ')[1],
      );
    expect(value('nines_component_up{component="api"}')).toBe(1);
    expect(value('nines_component_up{component="cache"}')).toBe(0);
    expect(value('nines_health_checks_total{component="api",status="healthy"}')).toBe(5);
    expect(value('nines_health_checks_total{component="cache",status="unhealthy"}')).toBe(5);
    // every status from 0, so Prometheus' increase() counts a component's first failure
    expect(value('nines_health_checks_total{component="api",status="unhealthy"}')).toBe(0);
    expect(value('nines_health_checks_total{component="api",status="degraded"}')).toBe(0);
    expect(value('nines_component_degraded{component="api"}')).toBe(0);
    expect(value('nines_component_degraded{component="cache"}')).toBe(0);
    expect(value('nines_schedule_lag_seconds_count')).toBe(10);
    expect(value('nines_component_flapping{component="api"}')).toBe(0);
    expect(value('nines_checks_dropped_total')).toBe(0);
    for (const kind of ['check', 'incident', 'gap', 'state']) expect(value(`nines_store_rows_rejected_total{kind="${kind}"}`)).toBe(0);
  });

  it('marks a component degraded while its latest check is, and exports the expiry of the certificate it last saw', async () => {
    let status: ProbeResult['status'] = 'degraded';
    const expiresAt = Date.UTC(2025, 2, 1, 12, 30);
    const { monitor, registry } = await monitored((c) => ({
      durationMs: 300,
      status,
      ...(c === 'api' ? { certificateExpiresAt: expiresAt } : {}),
    }));
    await monitor.runNow('api');
    const text = await registry.metrics();
    expect(text).toContain('nines_component_degraded{component="api"} 1');
    expect(text).toContain(`nines_certificate_expiry_timestamp_seconds{component="api"} ${expiresAt / 1000}`);
    expect(text).not.toContain('nines_certificate_expiry_timestamp_seconds{component="cache"}');
    status = 'unhealthy';
    await monitor.runNow('api');
    expect(await registry.metrics()).toContain('nines_component_degraded{component="api"} 0');
    await monitor.stop();
  });

  it('exports the flapping gauge of a component a reload added from its first result', async () => {
    const { monitor, registry } = await monitored(() => ({ durationMs: 4, status: 'healthy' }));
    const added = parseConfig(
      `${YAML}  - { name: queue, interval: 1s, timeout: 500ms, degradedAfter: 200ms, check: { type: tcp, host: 127.0.0.1, port: 1 } }\n`,
      {
        env: {},
      },
    );
    if (!added.ok) throw new Error('bad config');
    await monitor.reload(added.config);
    expect(await registry.metrics()).not.toContain('nines_component_flapping{component="queue"}');
    await monitor.runNow('queue');
    expect(await registry.metrics()).toContain('nines_component_flapping{component="queue"} 0');
    expect(await registry.metrics()).toContain('nines_monitor_connectivity_suspect 0');
    await monitor.stop();
  });
});
