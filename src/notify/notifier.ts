import type { Registry } from 'prom-client';
import type { ActiveAlert, AlertEvent } from '../alerts/lifecycle.js';
import type { NotifyConfig, ReceiverConfig } from '../config/index.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { METRICS, metric } from '../metrics/index.js';
import type { Store } from '../monitor/store/types.js';
import { AlertmanagerSender } from './alertmanager.js';

export type { DeadLetterRecord } from '../monitor/store/types.js';

import { notificationBody } from './payload.js';
import { WebhookSender } from './webhook.js';

type Outcome = 'delivered' | 'dead_letter' | 'failed';

/** Alerts of one receiver with the same `group.by` labels, waiting for their next message. */
interface Group {
  receiver: string;
  groupLabels: Record<string, string>;
  /** The latest event of each alert since the last message, by fingerprint. */
  pending: Map<string, AlertEvent>;
  timer: TimerHandle | undefined;
  lastSent: number | undefined;
}

/** Options of {@link Notifier}. */
export interface NotifierOptions {
  config: NotifyConfig;
  /** Where dead letters are kept. */
  store: Pick<Store, 'addDeadLetter'>;
  /** The status page's public address, for links ('' when unknown). */
  baseUrl?: string;
  /** The figures behind an alert at its event (the SLO's budget and burn rates), added to the body. */
  figures?: (event: AlertEvent) => unknown;
  /** Counts deliveries in `nines_notifications_total{receiver, outcome}`. */
  registry?: Registry;
  clock?: Clock;
  /** A dead letter could not be stored, or an Alertmanager did not take a post (the next resend retries). */
  onError?: (error: unknown, receiver: string) => void;
}

/**
 * Sends each alert event to the receivers its routes name (without routes, to all): firing,
 * reminders and resolutions, batched per receiver by `group` as Alertmanager does. Deliveries run
 * in the background, one receiver never waiting for another and the evaluator waiting for none;
 * what a receiver did not take after every attempt is kept as a dead letter in the store and counted.
 */
export class Notifier {
  readonly #options: NotifierOptions;
  readonly #senders = new Map<string, WebhookSender>();
  readonly #alertmanagers = new Map<string, AlertmanagerSender>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #receivers = new Map<string, ReceiverConfig>();
  readonly #groups = new Map<string, Group>();
  readonly #clock: Clock;
  readonly #count: ((receiver: string, outcome: Outcome) => void) | undefined;

  constructor(options: NotifierOptions) {
    this.#options = options;
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    for (const r of options.config.receivers) {
      this.#receivers.set(r.name, r);
      if (r.webhook) this.#senders.set(r.name, new WebhookSender(r.name, r.webhook, { clock }));
      if (r.alertmanager)
        this.#alertmanagers.set(r.name, new AlertmanagerSender(r.alertmanager, { clock, baseUrl: options.baseUrl ?? '' }));
    }
    const registry = options.registry;
    if (registry !== undefined) {
      const counter = metric(
        registry,
        'counter',
        METRICS.notificationsTotal,
        'Alert notifications by receiver: delivered, or kept as a dead letter after every attempt',
        ['receiver', 'outcome'],
      );
      for (const r of options.config.receivers)
        for (const o of r.webhook ? ['delivered', 'dead_letter'] : ['delivered', 'failed']) counter.labels(r.name, o).inc(0);
      this.#count = (receiver, outcome) => counter.labels(receiver, outcome).inc();
    }
  }

  /** The receivers `labels` route to: those of every matching route, or all when there are no routes. */
  receiversOf(labels: Record<string, string>): string[] {
    const { routes, receivers } = this.#options.config;
    if (routes.length === 0) return receivers.map((r) => r.name);
    const names = routes.filter((r) => Object.entries(r.match).every(([k, v]) => labels[k] === v)).map((r) => r.receiver);
    return [...new Set(names)];
  }

  /**
   * Sends `event` to its receivers: into the receiver's group for the event's `group.by` labels,
   * sent `group.wait` after the group's first event and then at most every `group.interval`, each
   * message holding the latest event of every alert that changed since the last.
   */
  notify(event: AlertEvent): void {
    for (const receiver of this.receiversOf(event.alert.labels)) {
      const config = this.#receivers.get(receiver);
      if (config?.webhook === undefined) continue;
      const groupLabels = Object.fromEntries(config.group.by.map((k) => [k, event.alert.labels[k] ?? '']));
      const key = `${receiver}:${JSON.stringify(groupLabels)}`;
      let group = this.#groups.get(key);
      if (group === undefined) {
        group = { receiver, groupLabels, pending: new Map(), timer: undefined, lastSent: undefined };
        this.#groups.set(key, group);
      }
      group.pending.set(event.alert.fingerprint, event);
      if (group.timer !== undefined) continue;
      const now = this.#clock.now();
      const due = group.lastSent === undefined ? now + config.group.wait : Math.max(now, group.lastSent + config.group.interval);
      const g = group;
      if (due <= now) this.#flush(key, g);
      else {
        g.timer = this.#clock.setTimeout(() => this.#flush(key, g), due - now);
        g.timer.unref(); // settle() sends what waits at shutdown
      }
    }
  }

  #flush(key: string, group: Group): void {
    group.timer?.clear();
    group.timer = undefined;
    if (group.pending.size === 0) return;
    const events = [...group.pending.values()];
    group.pending.clear();
    group.lastSent = this.#clock.now();
    const delivery = this.#deliver(group.receiver, events, key, group.groupLabels).finally(() => this.#inFlight.delete(delivery));
    this.#inFlight.add(delivery);
  }

  /** Gives every Alertmanager receiver one evaluation's state (it resends firing alerts as Prometheus does); in the background. */
  evaluated(e: { at: number; active: readonly ActiveAlert[]; events: readonly AlertEvent[] }): void {
    for (const [name, sender] of this.#alertmanagers) {
      const routed = (a: ActiveAlert) => this.receiversOf(a.labels).includes(name);
      const post = sender
        .evaluated(
          e.at,
          e.active.filter(routed),
          e.events.filter((ev) => routed(ev.alert)),
        )
        .then((results) => {
          for (const r of results) {
            this.#count?.(name, r.error === undefined ? 'delivered' : 'failed');
            if (r.error !== undefined) this.#options.onError?.(new Error(`${r.url}: ${r.error}`), name);
          }
        })
        .finally(() => this.#inFlight.delete(post));
      this.#inFlight.add(post);
    }
  }

  /** Sends every group still waiting now, and waits for every delivery in progress (retries included): at shutdown, and in tests. */
  async settle(): Promise<void> {
    for (const [key, group] of this.#groups) this.#flush(key, group);
    await this.delivered();
  }

  /** Waits for the deliveries in progress, leaving waiting groups to their timers. */
  async delivered(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #deliver(receiver: string, events: AlertEvent[], groupKey: string, groupLabels: Record<string, string>): Promise<void> {
    const sender = this.#senders.get(receiver);
    if (sender === undefined) return;
    const body = JSON.stringify(
      notificationBody(events, receiver, {
        baseUrl: this.#options.baseUrl ?? '',
        groupKey,
        groupLabels,
        ...(this.#options.figures === undefined ? {} : { figuresOf: this.#options.figures }),
      }),
    );
    const result = await sender.send(body);
    if (result.error === undefined) {
      this.#count?.(receiver, 'delivered');
      return;
    }
    this.#count?.(receiver, 'dead_letter');
    const now = this.#clock.now();
    await this.#options.store
      .addDeadLetter({ receiver, createdAt: now, attempts: result.attempts, error: result.error, body })
      .catch((error: unknown) => this.#options.onError?.(error, receiver));
  }
}
