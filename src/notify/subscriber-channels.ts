import type { Counter, Registry } from 'prom-client';
import type { Agent } from 'undici';
import type { NinesConfig } from '../config/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import { METRICS, metric } from '../metrics/index.js';
import type { Delivery } from './delivery.js';
import { type EmailMessage, EmailSender } from './email.js';
import { subscriberDispatcher } from './subscriber-target.js';
import { WebhookSender } from './webhook.js';

/** How a subscriber is reached. */
export type SubscriberKind = 'email' | 'webhook';

/** Attempts of one message to a subscriber's webhook (the e-mail's are its `via` receiver's). */
const WEBHOOK_ATTEMPTS = 3;

/** Options of {@link SubscriberChannels}. */
export interface SubscriberChannelsOptions {
  /** The config in force (read at each send, so a reload applies). */
  config: () => NinesConfig;
  clock?: Clock;
  /** Counts messages in `nines_subscriber_notifications_total{kind, outcome}`. */
  registry?: Registry;
  /** A message was not delivered after every attempt; `error` never holds the subscriber's address. */
  onError?: (error: Error, context: { kind: SubscriberKind; subscriber?: number }) => void;
}

/** `text` with every occurrence of `address` (any case) masked. */
function scrub(text: string, address: string): string {
  return address === '' ? text : text.replace(new RegExp(address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), '***');
}

/**
 * Sends to subscribers: e-mail through the SMTP settings and `from` of the e-mail receiver
 * `subscribers.email.via` names, webhooks signed with the subscriber's own secret, both with the
 * notifiers' retries (delivery.ts), through a dispatcher that reaches only public addresses unless
 * `subscribers.webhook.allowPrivate`. Never rejects; counts every outcome; no address reaches an error.
 */
export class SubscriberChannels {
  readonly #options: SubscriberChannelsOptions;
  readonly #clock: Clock;
  readonly #counter: Counter | undefined;
  #email: { key: string; sender: EmailSender } | undefined;
  #dispatcher: { allowPrivate: boolean; agent: Agent } | undefined;

  constructor(options: SubscriberChannelsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    if (options.registry !== undefined) {
      this.#counter = metric(
        options.registry,
        'counter',
        METRICS.subscriberNotificationsTotal,
        'Messages to status page subscribers (confirmations and updates): delivered, or failed after every attempt',
        ['kind', 'outcome'],
      );
      for (const kind of ['email', 'webhook']) for (const outcome of ['delivered', 'failed']) this.#counter.labels(kind, outcome).inc(0);
    }
  }

  /** Whether e-mail can be sent: `subscribers.email.via` names an e-mail receiver. */
  get canMail(): boolean {
    return this.#sender() !== undefined;
  }

  #sender(): EmailSender | undefined {
    const { subscribers, notify } = this.#options.config();
    const via = notify.receivers.find((r) => r.name === subscribers.email?.via)?.email;
    if (via === undefined) return undefined;
    const key = JSON.stringify(via);
    if (this.#email?.key !== key) this.#email = { key, sender: new EmailSender('subscribers', via, { clock: this.#clock }) };
    return this.#email.sender;
  }

  /** The dispatcher webhooks go through (made anew when `allowPrivate` changes). */
  dispatcher(): Agent {
    const allowPrivate = this.#options.config().subscribers.webhook.allowPrivate;
    if (this.#dispatcher?.allowPrivate !== allowPrivate) {
      void this.#dispatcher?.agent.close();
      this.#dispatcher = { allowPrivate, agent: subscriberDispatcher(allowPrivate) };
    }
    return this.#dispatcher.agent;
  }

  /** Sends `mail` to `address` alone, with `headers`; true when delivered. */
  async mail(address: string, mail: EmailMessage, headers: Record<string, string> = {}, subscriber?: number): Promise<boolean> {
    const sender = this.#sender();
    if (sender === undefined) return false;
    return this.#outcome('email', address, await sender.send(mail, { to: [address], headers }), subscriber);
  }

  /** POSTs `body` to a webhook subscriber, signed with its secret; true when delivered. */
  async post(url: string, secret: string, body: string, subscriber?: number): Promise<boolean> {
    return this.#outcome('webhook', url, await this.#webhook(url, secret, WEBHOOK_ATTEMPTS).send(body), subscriber);
  }

  /** POSTs a challenge once (a visitor's request made it: never retried); true when the answer holds `challenge`. */
  async challenge(url: string, secret: string, body: string, challenge: string): Promise<boolean> {
    const delivery = await this.#webhook(url, secret, 1).send(body, 2 * challenge.length + 64);
    const echoed =
      delivery.error === undefined && !delivery.answer.includes(challenge)
        ? { ...delivery, error: 'the answer did not hold the challenge' }
        : delivery;
    return this.#outcome('webhook', url, echoed, undefined);
  }

  #webhook(url: string, secret: string, maxAttempts: number): WebhookSender {
    const { timeout } = this.#options.config().subscribers.webhook;
    return new WebhookSender(
      'subscribers',
      { url, secret, timeout, maxAttempts, retryDelay: 1000 },
      { clock: this.#clock, dispatcher: this.dispatcher() },
    );
  }

  /** Counts a delivery and reports a failure with the address masked. */
  #outcome(kind: SubscriberKind, address: string, delivery: Delivery, subscriber: number | undefined): boolean {
    const ok = delivery.error === undefined;
    this.#counter?.labels(kind, ok ? 'delivered' : 'failed').inc();
    if (!ok) {
      const error = new Error(
        `${kind} to a subscriber failed after ${delivery.attempts} attempts: ${scrub(delivery.error ?? '', address)}`,
      );
      this.#options.onError?.(error, { kind, ...(subscriber === undefined ? {} : { subscriber }) });
    }
    return ok;
  }

  /** Closes the webhook connections. */
  async close(): Promise<void> {
    await this.#dispatcher?.agent.close();
    this.#dispatcher = undefined;
  }
}
