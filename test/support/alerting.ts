/** What the alerting tests share: a loopback target to switch off, a nines serve config that watches it, a monitor on a fake clock. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import type { AlertEvent } from '../../src/alerts/lifecycle.js';
import { maintenanceSilencer, type Silencer, silencers } from '../../src/alerts/silencing.js';
import type { ComponentConfig, NinesConfig } from '../../src/config/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { openStore } from '../../src/monitor/store/open.js';
import { freePort } from './e2e.js';

/** An HTTP target on loopback answering 200 while `up`, 503 once set false. */
export async function switchableTarget() {
  const state = { up: true };
  const server = createServer((_req, res) => res.writeHead(state.up ? 200 : 503).end(state.up ? 'UP' : 'DOWN'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise<void>((r) => server.close(() => r()));
  return { state, port: (server.address() as AddressInfo).port, close };
}

/**
 * Writes `dir/nines.yaml`: nines serve on a free port, SQLite in `dir`, probes every second with
 * 900 ms to answer, two failures in a row opening an incident. The target answers from the test's
 * own process, which a busy 2-core machine (CI beside a soak) stalls for hundreds of milliseconds:
 * with 150 ms to answer, two such stalls opened an incident while the target was up and burn
 * alerts fired in a test asserting a clean baseline. By default component `web` probes `targetPort` and SLO `web-slo` at
 * 99.9 % watches it (`slo` is added to the SLO's map); `components` replaces both; `extra` is
 * appended (an `alerts:` or `notify:` block); `server` adds keys to the server map. Reads are not
 * rate limited: the tests poll the API every 25 ms for up to a minute, faster than the default allows.
 */
export async function alertingConfig(
  dir: string,
  targetPort: number,
  options: { slo?: string; extra?: string; components?: string; server?: string } = {},
) {
  const port = await freePort();
  const path = join(dir, 'nines.yaml');
  const watched =
    options.components ??
    `components:
  - { name: web, check: { type: http, url: 'http://127.0.0.1:${targetPort}/' } }
slos:
  - { name: web-slo, component: web, objective: 99.9${options.slo === undefined ? '' : `, ${options.slo}`} }`;
  writeFileSync(
    path,
    `server: { host: 127.0.0.1, port: ${port}, rateLimit: { reads: { enabled: false } }${options.server === undefined ? '' : `, ${options.server}`} }
storage: sqlite:${join(dir, 'nines.db')}
defaults: { interval: 1s, timeout: 900ms, degradedAfter: 800ms, failuresToOpen: 2, successesToResolve: 1 }
${watched}
${options.extra ?? ''}
`,
  );
  return { path, base: `http://127.0.0.1:${port}` };
}

/**
 * A real monitor over a temp SQLite store on a fake clock, its probes failing for the components
 * in `down` and degraded for those in `slow` (or, with `realProbes`, the components' real checks),
 * and an AlertEvaluator over it collecting `events`; `step(n)` moves the clock 10 s and evaluates,
 * n times; `restart()` stops both and starts new ones over the same store, as a restart of nines
 * serve would (read `monitor` and `alerts` on the returned object after it). Call `dispose` after.
 */
export async function fakeClockMonitor(config: NinesConfig, start: number, options: { realProbes?: boolean; silencer?: Silencer } = {}) {
  const cleanup: Array<() => Promise<void> | void> = [];
  const dir = mkdtempSync(join(tmpdir(), 'nines-alerting-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore(`sqlite:${join(dir, 'nines.db')}`);
  cleanup.push(() => store.close());
  const clock = new ManualClock(start);
  const down = new Set<string>();
  const slow = new Set<string>();
  const events: AlertEvent[] = [];
  const status = (name: string) => (down.has(name) ? 'unhealthy' : slow.has(name) ? 'degraded' : 'healthy');
  const build = async () => {
    const monitor = new Monitor({
      config,
      store,
      clock,
      flushInterval: 60_000,
      compactInterval: 86_400_000,
      ...(options.realProbes
        ? {}
        : { probe: (c: ComponentConfig) => async () => ({ name: c.name, time: clock.now(), durationMs: 1, status: status(c.name) }) }),
    });
    await monitor.start();
    const alerts = new AlertEvaluator({
      config: () => monitor.config,
      history: monitor.history,
      statuses: () => monitor.status(),
      store,
      clock,
      silencedBy: silencers(
        maintenanceSilencer(monitor.maintenance, () => monitor.config.components),
        options.silencer ?? (() => []),
      ),
      connectivity: () => monitor.connectivity(),
    });
    alerts.on('alert', (e) => events.push(e));
    return { monitor, alerts };
  };
  let running = await build();
  cleanup.push(() => running.monitor.stop());
  const step = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      await clock.advance(10_000);
      await running.alerts.evaluate();
    }
  };
  const restart = async () => {
    await running.monitor.stop();
    running = await build();
  };
  const dispose = async () => {
    for (const f of cleanup.reverse()) await f();
  };
  return {
    get monitor() {
      return running.monitor;
    },
    get alerts() {
      return running.alerts;
    },
    clock,
    down,
    slow,
    events,
    step,
    restart,
    dispose,
  };
}
