import { randomBytes } from 'node:crypto';
import type { NinesConfig } from '../config/index.js';
import { isAddress } from '../config/notify.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Store, SubscriberRecord } from '../monitor/store/types.js';
import type { SubscriberChannels, SubscriberKind } from './subscriber-channels.js';
import { confirmationMail, type PageRef } from './subscriber-messages.js';
import { maskAddress, newToken, tokenHash, webhookProblem } from './subscriber-target.js';

/** A confirmation is not sent again to one address within this: a form cannot be used to flood a mailbox. */
export const RESEND_AFTER = 5 * 60_000;

/** What a visitor asks for: an e-mail address or a webhook URL, and optionally the public components to follow. */
export interface SubscribeInput {
  email?: string | undefined;
  webhook?: string | undefined;
  components?: readonly string[] | undefined;
}

/** A problem with what a visitor sent, at its field; never quoting the address. */
export interface SubscribeProblem {
  path: string;
  message: string;
}

/** A subscriber as the admin API shows it: the address masked. */
export interface SubscriberView {
  id: number;
  kind: SubscriberKind;
  address: string;
  components: string[] | null;
  state: 'confirmed' | 'pending';
  createdAt: string;
  confirmedAt: string | null;
}

/** Options of {@link Subscriptions}. */
export interface SubscriptionsOptions {
  config: () => NinesConfig;
  store: Pick<Store, 'subscribers'>;
  channels: SubscriberChannels;
  clock?: Clock;
  /** A confirmation could not be completed (the store failed); messages that fail are the channels'. */
  onError?: (error: unknown) => void;
}

/** The page the links point at: `page.url` (required when subscribers are on), never a request's Host. */
export const pageOf = (config: NinesConfig): PageRef => ({ title: config.page.title, url: config.page.url ?? '' });

/**
 * Signing up and out: double opt-in for e-mail (a link mailed to the address) and webhooks (a
 * challenge the URL must echo, or the link in it opened), one-click unsubscribe, and what the
 * admin API shows. Tokens are random; the store keeps their SHA-256 only. Whether an address was
 * already subscribed never shows in an answer: each request does the same and mails in the background.
 */
export class Subscriptions {
  readonly #options: SubscriptionsOptions;
  readonly #clock: Clock;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: SubscriptionsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Which kinds visitors may subscribe with now; none when `subscribers.enabled` is off. */
  kinds(): { email: boolean; webhook: boolean } {
    const { subscribers } = this.#options.config();
    return {
      email: subscribers.enabled && this.#options.channels.canMail,
      webhook: subscribers.enabled && subscribers.webhook.enabled,
    };
  }

  /** The public components a visitor may follow. */
  publicComponents(): string[] {
    return this.#options
      .config()
      .components.filter((c) => c.public)
      .map((c) => c.name);
  }

  /**
   * Validates `input` and asks for a confirmation: a mail with the link, or a challenge posted
   * to the webhook. Resolves once stored (the message goes in the background), the same way for
   * an address new or already subscribed; problems come back at their fields.
   */
  async subscribe(input: SubscribeInput): Promise<SubscribeProblem[]> {
    const kinds = this.kinds();
    const problems: SubscribeProblem[] = [];
    const email = input.email?.trim().toLowerCase() ?? '';
    const webhook = input.webhook?.trim() ?? '';
    if ((email === '') === (webhook === '')) return [{ path: 'email', message: 'give an e-mail address or a webhook URL (one of them)' }];
    if (email !== '' && !kinds.email) problems.push({ path: 'email', message: 'e-mail subscriptions are not offered here' });
    else if (email !== '' && (email.length > 254 || !isAddress(email)))
      problems.push({ path: 'email', message: 'expected an e-mail address' });
    const config = this.#options.config().subscribers;
    if (webhook !== '' && !kinds.webhook) problems.push({ path: 'webhook', message: 'webhook subscriptions are not offered here' });
    else if (webhook !== '') {
      const problem = await webhookProblem(webhook, config.webhook.allowPrivate);
      if (problem !== undefined) problems.push({ path: 'webhook', message: problem });
    }
    const known = new Set(this.publicComponents());
    const components = input.components === undefined || input.components.length === 0 ? null : [...new Set(input.components)];
    components?.forEach((c, i) => {
      if (!known.has(c)) problems.push({ path: `components[${i}]`, message: 'no public component of that name' });
    });
    if (problems.length > 0) return problems;

    const token = newToken();
    const kind: SubscriberKind = email !== '' ? 'email' : 'webhook';
    const address = email !== '' ? email : new URL(webhook).href;
    const secret = kind === 'webhook' ? randomBytes(32).toString('hex') : null;
    const now = this.#clock.now();
    const ask = await this.#options.store.subscribers.request({
      kind,
      address,
      components,
      secret,
      confirmHash: tokenHash(token),
      at: now,
      resendAfter: RESEND_AFTER,
    });
    if (ask)
      this.#background(
        kind === 'email' ? this.#mailConfirmation(address, token, components) : this.#challenge(address, secret ?? '', token),
      );
    return [];
  }

  async #mailConfirmation(address: string, token: string, components: readonly string[] | null): Promise<void> {
    const config = this.#options.config();
    const page = pageOf(config);
    await this.#options.channels.mail(address, confirmationMail(page, confirmUrl(page, token), config.subscribers.confirmTtl, components));
  }

  /** Posts the challenge (with the secret the webhook's messages will be signed with, and the confirm link); an echo confirms at once. */
  async #challenge(url: string, secret: string, token: string): Promise<void> {
    const config = this.#options.config();
    const page = pageOf(config);
    const body = JSON.stringify({
      version: 1,
      type: 'subscription.challenge',
      challenge: token,
      secret,
      confirm: confirmUrl(page, token),
      page,
    });
    if (await this.#options.channels.challenge(url, secret, body, token)) await this.confirm(token);
  }

  /** Confirms the subscription `token` was sent for, if it is pending and not expired; its kind, or undefined. */
  async confirm(token: string): Promise<SubscriberKind | undefined> {
    const now = this.#clock.now();
    const ttl = this.#options.config().subscribers.confirmTtl;
    return (await this.#options.store.subscribers.confirm(tokenHash(token), now - ttl, now))?.kind;
  }

  /** Removes the subscriber a message's unsubscribe `token` was sent to; false when the token is unknown (already used). */
  unsubscribe(token: string): Promise<boolean> {
    return this.#options.store.subscribers.unsubscribe(tokenHash(token));
  }

  /** Counts per kind and state, and every subscriber with its address masked. */
  async summary(): Promise<{ counts: Record<SubscriberKind, { confirmed: number; pending: number }>; subscribers: SubscriberView[] }> {
    const all = await this.#options.store.subscribers.list();
    const counts = { email: { confirmed: 0, pending: 0 }, webhook: { confirmed: 0, pending: 0 } };
    const subscribers = all.map((s: SubscriberRecord): SubscriberView => {
      const state = s.confirmedAt === null ? 'pending' : 'confirmed';
      counts[s.kind][state]++;
      return {
        id: s.id,
        kind: s.kind,
        address: maskAddress(s.kind, s.address),
        components: s.components,
        state,
        createdAt: new Date(s.createdAt).toISOString(),
        confirmedAt: s.confirmedAt === null ? null : new Date(s.confirmedAt).toISOString(),
      };
    });
    return { counts, subscribers };
  }

  /** Removes subscriber `id`; false when there is none. */
  remove(id: number): Promise<boolean> {
    return this.#options.store.subscribers.remove(id);
  }

  #background(work: Promise<unknown>): void {
    // channels never reject; a failing store in confirm is the one thing left to catch
    const p = work.catch((error: unknown) => this.#options.onError?.(error)).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Waits for the confirmations on their way: at shutdown, and in tests. */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }
}

/** The link that confirms. */
const confirmUrl = (page: PageRef, token: string) => `${page.url}/subscribe/confirm?token=${token}`;

/** The link (and RFC 8058 one-click target) that unsubscribes. */
export const unsubscribeUrl = (page: PageRef, token: string) => `${page.url}/unsubscribe?token=${token}`;
