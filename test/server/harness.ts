import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { Silences } from '../../src/alerts/silences.js';
import type { BackupSchedules } from '../../src/backup/schedules.js';
import { parseConfig } from '../../src/config/index.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore, type Store } from '../../src/monitor/store/index.js';
import { ManualClock } from '../../src/policy/index.js';
import { buildApp } from '../../src/server/app.js';
import type { ServedDegradation } from '../../src/server/degradation.js';
import type { ServedFlags } from '../../src/server/flags.js';

/** The token of the configs that have one. */
export const TOKEN = 'test-token-0123456789-abcdef';

/** Two components (api critical, cache not) and an SLO on api; `token` adds `server.token`. */
function yaml(token: boolean): string {
  return `
${token ? `server: { token: "${TOKEN}" }` : ''}
components:
  - name: api
    critical: true
    interval: 1s
    timeout: 500ms
    degradedAfter: 200ms
    failuresToOpen: 3
    successesToResolve: 2
    check: { type: tcp, host: 127.0.0.1, port: 1 }
  - name: cache
    interval: 1s
    timeout: 500ms
    degradedAfter: 200ms
    check: { type: tcp, host: 127.0.0.1, port: 2 }
slos:
  - { name: api-slo, component: api, objective: 99.9, window: 30d }
`;
}

/** A started monitor over an in-memory store with manual time, each component up or down as `world` says, and its app. */
export async function harness(
  options: {
    token?: boolean;
    start?: boolean;
    /** Wraps the monitor's store (the history every route reads), e.g. to make one read fail. */
    store?: (s: Store) => Store;
    liveness?: { maxEventLoopDelay?: number };
    /** Rewrites the config text, e.g. to add a component. */
    yaml?: (text: string) => string;
    /** Serves `/api/silences` over the harness's store. */
    silences?: boolean;
    /** The flags to serve, made on the harness's registry and clock (default: the config's, in memory). */
    flags?: (registry: Registry, clock: ManualClock) => ServedFlags;
    /** The degradation level to serve, made on the harness's registry and clock (default: one with no rules, in memory). */
    degradation?: (registry: Registry, clock: ManualClock) => ServedDegradation;
    /** The backups `/api/backups` serves, made on the harness's registry. */
    backups?: (registry: Registry) => BackupSchedules;
    /** The HA leases' readiness (`ha.ready`), as `nines serve` passes it. */
    ha?: { ready: boolean };
  } = {},
) {
  const text = yaml(options.token ?? false);
  const parsed = parseConfig(options.yaml ? options.yaml(text) : text, { env: {} });
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const store = await openStore('sqlite::memory:');
  // 'stuck': the run never ends (a check that ignores its timeout)
  const world: Record<string, ProbeResult['status'] | 'stuck'> = { api: 'healthy', cache: 'healthy' };
  /** Error text of a failing component's results, by name (default `<name> is <status>`). */
  const errors: Record<string, string> = {};
  const runs: string[] = [];
  const stuck: Array<() => void> = [];
  /** Ends the stuck runs. */
  const release = () => {
    for (const end of stuck.splice(0)) end();
  };
  const monitor = new Monitor({
    config: parsed.config,
    store: options.store ? options.store(store) : store,
    clock,
    probe: (c) => async () => {
      runs.push(c.name);
      const status = world[c.name] ?? 'healthy';
      if (status === 'stuck')
        return new Promise<ProbeResult>((resolve) =>
          stuck.push(() => resolve({ name: c.name, time: clock.now(), durationMs: 3, status: 'healthy' })),
        );
      const result: ProbeResult = { name: c.name, time: clock.now(), durationMs: 3, status };
      if (status !== 'healthy') result.error = errors[c.name] ?? `${c.name} is ${status}`;
      return result;
    },
  });
  const shutdown = { shuttingDown: false };
  const registry = new Registry();
  const silences = options.silences ? new Silences({ store, now: () => clock.now() }) : undefined;
  const app = buildApp({
    monitor,
    registry,
    shutdown,
    clock,
    ...(silences ? { silences } : {}),
    ...(options.flags ? { flags: options.flags(registry, clock) } : {}),
    ...(options.degradation ? { degradation: options.degradation(registry, clock) } : {}),
    ...(options.backups ? { backups: options.backups(registry) } : {}),
    ...(options.liveness ? { liveness: options.liveness } : {}),
    ...(options.ha ? { ha: options.ha } : {}),
  });
  if (options.start !== false) await monitor.start();
  await silences?.load();
  const close = async () => {
    release();
    await app.close();
    await monitor.stop();
    await store.close();
  };
  return { app, monitor, store, clock, world, errors, shutdown, registry, runs, release, close };
}

/** A harness that ran 10 minutes healthy, then api down long enough to open an incident (still open). */
export async function withIncident(options: Parameters<typeof harness>[0] = {}) {
  const h = await harness(options);
  await h.clock.advance(10 * 60_000);
  h.world.api = 'unhealthy';
  await h.clock.advance(10_000);
  return h;
}

/** The value of the Prometheus sample `name{labels}` in `text`, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m?.[1] !== name) continue;
    if ((m[2] ?? '').split(',').sort().join(',') === want) return Number(m[3]);
  }
  return undefined;
}

/** `PUT /api/flags/checkout` by ada with the token: `{ enabled: false, description: 'paused' }`. */
export function pauseCheckout(app: { inject: FastifyInstance['inject'] }) {
  return app.inject({
    method: 'PUT',
    url: '/api/flags/checkout',
    headers: { authorization: `Bearer ${TOKEN}`, 'x-nines-by': 'ada' },
    payload: { enabled: false, description: 'paused' },
  });
}
