import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, ensureBuilt, freePort, startServing, until } from '../support/e2e.js';
import { hasPrometheusTools, promtoolCheck, startPrometheus } from '../support/prometheus.js';

/** Every family nines serve exposes once its components have results and an SLO has figures. */
const FAMILIES = [
  'nines_component_up',
  'nines_incidents_active',
  'nines_availability_ratio',
  'nines_error_budget_remaining_ratio',
  'nines_slo_burn_rate',
  'nines_component_flapping',
  'nines_schedule_lag_seconds',
  'nines_checks_dropped_total',
  'nines_store_rows_rejected_total',
  'nines_figures_evaluated_timestamp_seconds',
  'nines_health_checks_total',
  'nines_health_check_duration_seconds',
  'nines_process_cpu_user_seconds_total',
  'nines_nodejs_heap_size_used_bytes',
];

describe.skipIf(!hasPrometheusTools())('nines serve /metrics and Prometheus (promtool, a real Prometheus scraping OpenMetrics)', () => {
  let target: Server;
  let dir: string;
  let base: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    target = createServer((_req, res) => res.writeHead(200).end('UP'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), 'nines-metrics-'));
    const config = join(dir, 'nines.yaml');
    writeFileSync(
      config,
      `server: { host: 127.0.0.1, port: ${port} }
storage: sqlite:${join(dir, 'nines.db')}
defaults: { interval: 200ms, timeout: 150ms, degradedAfter: 100ms }
components:
  - { name: web, critical: true, check: { type: http, url: 'http://127.0.0.1:${targetPort}/' } }
  - { name: socket, check: { type: tcp, host: 127.0.0.1, port: ${targetPort} } }
slos:
  - { name: web-slo, component: web, objective: 99.9, window: 30d }
`,
    );
    child = (await startServing([bin, 'serve', '--config', config], { timeoutMs: 60_000 })).proc;
    await until(
      'a result of each component',
      async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return text.includes('nines_slo_burn_rate{') && text.includes('status="healthy"') ? true : undefined;
      },
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await new Promise<void>((r) => target.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the Prometheus text passes promtool check metrics, with nothing to say, and holds every family', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    for (const family of FAMILIES) expect(text).toContain(`# TYPE ${family} `);
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('answers OpenMetrics to an Accept that prefers it, and a real Prometheus scrapes it without an error', async () => {
    const om = await fetch(`${base}/metrics`, { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5' } });
    expect(om.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const body = await om.text();
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE nines_health_checks counter');

    const prometheus = await startPrometheus(new URL(base).host);
    try {
      // Prometheus asks for OpenMetrics first; a body it cannot parse makes the target "down" with the parser's error.
      const health = await until(
        'Prometheus to scrape nines twice',
        async () => {
          const t = await prometheus.target();
          return t && t.health !== 'unknown' && !t.lastScrape.startsWith('0001') ? t : undefined;
        },
        60_000,
      );
      expect(health).toMatchObject({ health: 'up', lastError: '' });
      const query = await (
        await fetch(`${prometheus.base}/api/v1/query?query=${encodeURIComponent('nines_health_checks_total{component="web"}')}`)
      ).json();
      expect((query as { data: { result: unknown[] } }).data.result.length).toBeGreaterThan(0);
    } finally {
      prometheus.stop();
    }
  }, 120_000);
});
