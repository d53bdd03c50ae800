/** What the notifier tests share: a loopback HTTP receiver, a Notifier over a real SQLite store, alert events, the delivery counter. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { AlertEvent } from '../../src/alerts/lifecycle.js';
import { type NotifyConfig, parseConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/core/clock.js';
import { openStore } from '../../src/monitor/store/open.js';
import { Notifier, type NotifierOptions } from '../../src/notify/notifier.js';

/** Runs what a test set up, newest first; call `run` in afterEach. */
export function cleanups() {
  const list: Array<() => Promise<void> | void> = [];
  return {
    add: (f: () => Promise<void> | void) => list.push(f),
    run: async () => {
      for (const f of list.splice(0).reverse()) await f();
    },
  };
}

/** One request a {@link hookReceiver} got. */
export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A status, or a status with headers. */
export type Answer = number | { status: number; headers: Record<string, string> };

/** An HTTP receiver on loopback answering `answer(n)` to its n-th POST (from 1), keeping what it got; `waitFor(n)` resolves once it has n. */
export async function hookReceiver(cleanup: Pick<ReturnType<typeof cleanups>, 'add'>, answer: (n: number) => Answer) {
  const got: Received[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      const a = answer(got.length);
      if (typeof a === 'number') res.writeHead(a).end();
      else res.writeHead(a.status, a.headers).end();
      for (const w of waiting.filter((x) => got.length >= x.n)) w.resolve();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.add(() => new Promise<void>((r) => server.close(() => r())));
  const waitFor = (n: number) => new Promise<void>((resolve) => (got.length >= n ? resolve() : waiting.push({ n, resolve })));
  return { got, waitFor, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

/** `notify` (YAML, indented under `notify:`) parsed against `env`. */
export function notifyConfig(notify: string, env: Record<string, string> = {}): NotifyConfig {
  const parsed = parseConfig(`components: [{ name: api, check: { type: tcp, host: 127.0.0.1, port: 1 } }]\nnotify:\n${notify}`, { env });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config.notify;
}

/** A Notifier for `notify` over a fresh SQLite store, its counter in `registry`, linking https://status.example.com. */
export async function notifierSetup(
  cleanup: ReturnType<typeof cleanups>,
  notify: string,
  options: { clock?: Clock; env?: Record<string, string> } & Pick<NotifierOptions, 'figures' | 'onError'> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'nines-notify-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openStore(`sqlite:${join(dir, 'nines.db')}`);
  await store.migrate();
  cleanup.add(() => store.close());
  const registry = new Registry();
  const notifier = new Notifier({
    config: notifyConfig(notify, options.env),
    store,
    registry,
    baseUrl: 'https://status.example.com',
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.figures ? { figures: options.figures } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  return { notifier, store, registry };
}

/** 2026-06-01 12:00 UTC, when the test alerts fire. */
export const T = Date.UTC(2026, 5, 1, 12);

/** An event of the alert `alertname` (severity, SLO `api-slo`, `component`), fired at T. */
export function alertEvent(
  kind: AlertEvent['kind'],
  severity: string,
  at = T,
  component = 'api',
  alertname = 'NinesErrorBudgetBurn',
): AlertEvent {
  const labels = { alertname, severity, slo: 'api-slo', component };
  return {
    kind,
    at,
    alert: {
      fingerprint: `fp-${alertname}-${severity}-${component}`,
      labels,
      annotations: { summary: 'burning' },
      state: 'firing',
      activeAt: T,
      firedAt: T,
      sentAt: T,
    },
  };
}

/** nines_notifications_total of `receiver` and `outcome`. */
export const counted = async (registry: Registry, receiver: string, outcome: string) =>
  (await registry.getSingleMetric('nines_notifications_total')?.get())?.values.find(
    (v) => v.labels.receiver === receiver && v.labels.outcome === outcome,
  )?.value;
