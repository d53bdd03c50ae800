/**
 * What the subscriber tests share: a real monitor over a temp SQLite store on a fake clock (its
 * probes up or down as `world` says), the subscriber channels, sign-up and updates over it, and the
 * app serving them; everything the service would log is collected in `logs`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseConfig } from '../../src/config/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { Monitor } from '../../src/monitor/monitor.js';
import type { ProbeResult } from '../../src/monitor/probe.js';
import { openStore } from '../../src/monitor/store/open.js';
import { SubscriberChannels } from '../../src/notify/subscriber-channels.js';
import { SubscriberUpdates } from '../../src/notify/subscriber-updates.js';
import { Subscriptions } from '../../src/notify/subscriptions.js';
import { buildApp } from '../../src/server/app.js';
import type { cleanups } from './notify.js';
import { PASSWORD } from './smtp.js';

/** The bearer token of the setup's config. */
export const TOKEN = 'subscribers-token-0123456789';
/** 2026-06-01 12:00 UTC. */
export const START = Date.UTC(2026, 5, 1, 12);

/**
 * The config: public components `api` and `web`, internal `db`, checked every second (3 failures
 * open an incident, 2 passes resolve it); the e-mail receiver `mail` on `smtpPort` (when given) as
 * subscribers' `via`; `subscribers` keys from `extra` (YAML flow entries) and anything in `more`.
 */
export function subscriberYaml(options: { smtpPort?: number; subscribers?: string; more?: string } = {}): string {
  const mail =
    options.smtpPort === undefined
      ? ''
      : `notify:
  receivers:
    - name: mail
      email:
        smtp: { host: 127.0.0.1, port: ${options.smtpPort}, user: nines, password: '${PASSWORD}', requireTLS: false, timeout: 5s }
        from: 'Status <status@example.com>'
        to: [oncall@example.com]
        maxAttempts: 2
        retryDelay: 1ms
`;
  return `server: { token: ${TOKEN} }
page: { title: Acme status, url: 'https://status.example.com' }
defaults: { interval: 1s, timeout: 500ms, degradedAfter: 400ms, failuresToOpen: 3, successesToResolve: 2 }
components:
  - { name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }
  - { name: web, check: { type: tcp, host: 127.0.0.1, port: 2 } }
  - { name: db, public: false, check: { type: tcp, host: 127.0.0.1, port: 3 } }
${mail}subscribers: { enabled: true${options.smtpPort === undefined ? '' : ', email: { via: mail }'}${options.subscribers ? `, ${options.subscribers}` : ''} }
${options.more ?? ''}
`;
}

/** A started monitor, subscriptions and app for `yaml`; `restart()` gives new updates over the same store (a restart of nines serve). */
export async function subscriberSetup(cleanup: ReturnType<typeof cleanups>, yaml: string) {
  const parsed = parseConfig(yaml, { env: {} });
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const dir = mkdtempSync(join(tmpdir(), 'nines-subscribers-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore(`sqlite:${join(dir, 'nines.db')}`);
  cleanup.add(() => store.close());
  const clock = new ManualClock(START);
  const world: Record<string, ProbeResult['status']> = {};
  const monitor = new Monitor({
    config: parsed.config,
    store,
    clock,
    flushInterval: 1000,
    probe: (c) => async () => {
      const status = world[c.name] ?? 'healthy';
      return { name: c.name, time: clock.now(), durationMs: 2, status, ...(status === 'unhealthy' ? { error: 'refused' } : {}) };
    },
  });
  const logs: string[] = [];
  const registry = new Registry();
  const config = () => monitor.config;
  const channels = new SubscriberChannels({
    config,
    clock,
    registry,
    onError: (error, c) => logs.push(`${JSON.stringify(c)} ${error.message}`),
  });
  const subscriptions = new Subscriptions({ config, store, channels, clock, onError: (e) => logs.push(String(e)) });
  /** New updates watching the monitor; `claim` as the HA monitor gives it (a unique row per announcement). */
  const makeUpdates = (claim?: (key: string, at: number) => Promise<boolean>) => {
    const u = new SubscriberUpdates({
      config,
      store,
      channels,
      clock,
      ...(claim === undefined ? {} : { claim }),
      maintenance: monitor.maintenance,
      incident: (id) => monitor.history.incident(id),
      onError: (e, during) => logs.push(`${during} ${String(e)}`),
    });
    cleanup.add(u.watch(monitor));
    return u;
  };
  const app = buildApp({ monitor, registry, clock, subscriptions });
  await monitor.start();
  cleanup.add(async () => {
    await app.close();
    await monitor.stop();
    await subscriptions.settle();
    await channels.close();
  });
  return { app, monitor, store, clock, world, subscriptions, registry, channels, logs, makeUpdates };
}

/** The path and query of a link nines put in a message (`https://status.example.com/...`), for `app.inject`. */
export function linkIn(text: string, path: '/subscribe/confirm' | '/unsubscribe'): string {
  const m = new RegExp(`https://status\\.example\\.com(${path.replace('/', '\\/')}\\?token=[A-Za-z0-9_-]{43})`).exec(text);
  if (m?.[1] === undefined) throw new Error(`no ${path} link in: ${text}`);
  return m[1];
}
