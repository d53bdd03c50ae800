import type { Counter, Registry } from 'prom-client';
import type { ActiveAlert, AlertEvent } from '../alerts/lifecycle.js';
import type { NotifyConfig, ReceiverConfig } from '../config/index.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { METRICS, metric } from '../metrics/index.js';
import type { Store } from '../monitor/store/types.js';
import { AlertmanagerSender } from './alertmanager.js';
import type { Delivery } from './delivery.js';
import { EmailSender, emailMessage } from './email.js';

export type { DeadLetterRecord } from '../monitor/store/types.js';

import { type AlertFigures, type NotificationBody, notificationBody } from './payload.js';
import { slackMessage } from './slack.js';
import { WebhookSender } from './webhook.js';

type Outcome = 'delivered' | 'dead_letter' | 'failed';

/** A grouped message turned into what one receiver takes: the text a dead letter keeps, and its delivery. */
type Channel = (message: NotificationBody) => { body: string; send: () => Promise<Delivery> };

/** A configured receiver: a channel for grouped messages (webhook, Slack, e-mail), or an Alertmanager. */
interface Receiver {
  config: ReceiverConfig;
  channel?: Channel;
  alertmanager?: AlertmanagerSender;
}

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
  figures?: (event: AlertEvent) => AlertFigures | undefined;
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
  readonly #inFlight = new Set<Promise<void>>();
  readonly #groups = new Map<string, Group>();
  readonly #clock: Clock;
  readonly #counter: Counter | undefined;
  #config: NotifyConfig;
  #receivers: Map<string, Receiver>;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#config = options.config;
    this.#receivers = new Map(options.config.receivers.map((r) => [r.name, this.#receiver(r)]));
    if (options.registry !== undefined)
      this.#counter = metric(
        options.registry,
        'counter',
        METRICS.notificationsTotal,
        'Alert notifications by receiver: delivered, or kept as a dead letter after every attempt',
        ['receiver', 'outcome'],
      );
    this.#zeroCounts();
  }

  #receiver(config: ReceiverConfig): Receiver {
    const clock = this.#clock;
    if (config.alertmanager !== undefined)
      return { config, alertmanager: new AlertmanagerSender(config.alertmanager, { clock, baseUrl: this.#options.baseUrl ?? '' }) };
    const { webhook, slack, email } = config;
    let channel: Channel | undefined;
    if (webhook !== undefined) {
      const sender = new WebhookSender(config.name, webhook, { clock });
      channel = (message) => {
        const body = JSON.stringify(message);
        return { body, send: () => sender.send(body) };
      };
    } else if (slack !== undefined) {
      const sender = new WebhookSender(config.name, slack, { clock });
      channel = (message) => {
        const body = JSON.stringify(slackMessage(message));
        return { body, send: () => sender.send(body) };
      };
    } else if (email !== undefined) {
      const sender = new EmailSender(config.name, email, { clock });
      channel = (message) => {
        const mail = emailMessage(message);
        return { body: JSON.stringify({ from: email.from, to: email.to, ...mail }), send: () => sender.send(mail) };
      };
    }
    return channel === undefined ? { config } : { config, channel };
  }

  /** Shows every receiver's outcomes at 0 before the first. */
  #zeroCounts(): void {
    for (const r of this.#config.receivers)
      for (const o of r.alertmanager ? ['delivered', 'failed'] : ['delivered', 'dead_letter']) this.#counter?.labels(r.name, o).inc(0);
  }

  #count(receiver: string, outcome: Outcome): void {
    this.#counter?.labels(receiver, outcome).inc();
  }

  /**
   * Takes a new `notify` config (a reload): receivers and routes are swapped at once. A receiver
   * whose settings did not change is kept as it is (an Alertmanager's resend state too); groups
   * waiting for a receiver that still exists keep waiting and go out with its new settings; those
   * of a receiver removed (or no longer taking messages) are sent now, with its old settings.
   */
  reload(config: NotifyConfig): void {
    const receivers = new Map(
      config.receivers.map((r) => {
        const old = this.#receivers.get(r.name);
        return [r.name, old !== undefined && JSON.stringify(old.config) === JSON.stringify(r) ? old : this.#receiver(r)];
      }),
    );
    for (const [key, group] of this.#groups) {
      if (receivers.get(group.receiver)?.channel !== undefined) continue;
      this.#flush(key, group);
      this.#groups.delete(key);
    }
    this.#config = config;
    this.#receivers = receivers;
    this.#zeroCounts();
  }

  /** The receivers `labels` route to: those of every matching route, or all when there are no routes. */
  receiversOf(labels: Record<string, string>): string[] {
    const { routes, receivers } = this.#config;
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
      const r = this.#receivers.get(receiver);
      if (r?.channel === undefined) continue;
      const { group: settings } = r.config;
      const groupLabels = Object.fromEntries(settings.by.map((k) => [k, event.alert.labels[k] ?? '']));
      const key = `${receiver}:${JSON.stringify(groupLabels)}`;
      let group = this.#groups.get(key);
      if (group === undefined) {
        group = { receiver, groupLabels, pending: new Map(), timer: undefined, lastSent: undefined };
        this.#groups.set(key, group);
      }
      group.pending.set(event.alert.fingerprint, event);
      if (group.timer !== undefined) continue;
      const now = this.#clock.now();
      const due = group.lastSent === undefined ? now + settings.wait : Math.max(now, group.lastSent + settings.interval);
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
    const channel = this.#receivers.get(group.receiver)?.channel;
    if (group.pending.size === 0 || channel === undefined) return;
    const events = [...group.pending.values()];
    group.pending.clear();
    group.lastSent = this.#clock.now();
    const delivery = this.#deliver(channel, group.receiver, events, key, group.groupLabels).finally(() => this.#inFlight.delete(delivery));
    this.#inFlight.add(delivery);
  }

  /** Gives every Alertmanager receiver one evaluation's state (it resends firing alerts as Prometheus does); in the background. */
  evaluated(e: { at: number; active: readonly ActiveAlert[]; events: readonly AlertEvent[] }): void {
    for (const [name, { alertmanager }] of this.#receivers) {
      if (alertmanager === undefined) continue;
      const routed = (a: ActiveAlert) => this.receiversOf(a.labels).includes(name);
      const post = alertmanager
        .evaluated(
          e.at,
          e.active.filter(routed),
          e.events.filter((ev) => routed(ev.alert)),
        )
        .then((results) => {
          for (const r of results) {
            this.#count(name, r.error === undefined ? 'delivered' : 'failed');
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

  async #deliver(
    channel: Channel,
    receiver: string,
    events: AlertEvent[],
    groupKey: string,
    groupLabels: Record<string, string>,
  ): Promise<void> {
    const message = notificationBody(events, receiver, {
      baseUrl: this.#options.baseUrl ?? '',
      groupKey,
      groupLabels,
      ...(this.#options.figures === undefined ? {} : { figuresOf: this.#options.figures }),
    });
    const { body, send } = channel(message);
    const result = await send();
    if (result.error === undefined) {
      this.#count(receiver, 'delivered');
      return;
    }
    this.#count(receiver, 'dead_letter');
    await this.#options.store
      .addDeadLetter({ receiver, createdAt: this.#clock.now(), attempts: result.attempts, error: result.error, body })
      .catch((error: unknown) => this.#options.onError?.(error, receiver));
  }
}
