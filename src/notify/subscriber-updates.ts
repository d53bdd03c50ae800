import type { NinesConfig } from '../config/index.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { covers, type MaintenanceBook } from '../monitor/maintenance.js';
import type { Monitor } from '../monitor/monitor.js';
import type { IncidentUpdateRecord, Store, SubscriberRecord } from '../monitor/store/types.js';
import type { SubscriberChannels } from './subscriber-channels.js';
import { componentsOf, type SubscriberUpdate, updateBody, updateMail } from './subscriber-messages.js';
import { newToken, tokenHash } from './subscriber-target.js';
import { pageOf, unsubscribeUrl } from './subscriptions.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** How often maintenance is looked at (and, every hour, expired confirmations and old tokens pruned). */
export const TICK = MINUTE;
/** How far back an occurrence that ended is still announced (nines was down when it ended). */
const LOOKBACK = DAY;
/** Unsubscribe tokens (and notices) are kept this long: the links in older messages stop working after it. */
export const TOKEN_TTL = 90 * DAY;
/** Messages on their way at once. */
const CONCURRENCY = 4;
/** Most updates held while they cannot be sent (the store fails); past it the oldest are dropped. */
const MAX_QUEUED = 1000;

/** Options of {@link SubscriberUpdates}. */
export interface SubscriberUpdatesOptions {
  config: () => NinesConfig;
  store: Pick<Store, 'subscribers'>;
  channels: SubscriberChannels;
  maintenance: MaintenanceBook;
  /** The incident a public update was added to: its component. */
  incident: (id: number) => Promise<{ component: string } | undefined>;
  clock?: Clock;
  /**
   * Claims an incident's announcement before it is queued (the HA monitor: a unique row in the
   * store); false means another instance announced it. Default: none (one node announces its own).
   */
  claim?: (key: string, at: number) => Promise<boolean>;
  /** The store failed while sending (the updates wait for the next try) or while announcing maintenance. */
  onError?: (error: unknown, during: 'send' | 'maintenance' | 'prune') => void;
}

/** Runs `work` on every item, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Tells confirmed subscribers what happens to the public components: incidents opened and
 * resolved (as the monitor's incident rules confirm them; not while the component is in
 * maintenance, which was announced), public incident updates, and maintenance (once when due
 * within `announceAhead`, once when it starts, once when it ends). Updates are batched as
 * `subscribers.group` says: one message per subscriber per batch, with only the components it
 * follows. Sending runs in the background: the monitor never waits for it.
 */
export class SubscriberUpdates {
  readonly #options: SubscriberUpdatesOptions;
  readonly #clock: Clock;
  readonly #inFlight = new Set<Promise<void>>();
  /** Notices claimed by this instance: skipped without asking the store again. */
  readonly #claimed = new Set<string>();
  #queue: SubscriberUpdate[] = [];
  #timer: TimerHandle | undefined;
  #ticker: TimerHandle | undefined;
  #lastSent: number | undefined;
  #lastPruned = Number.NEGATIVE_INFINITY;

  constructor(options: SubscriberUpdatesOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  #enabled(): boolean {
    return this.#options.config().subscribers.enabled;
  }

  /** Listens to `monitor`'s incidents and its notebook's updates; returns what stops listening. */
  watch(monitor: Pick<Monitor, 'on' | 'notebook'>): () => void {
    const stops = [
      monitor.on('incidentOpened', (e) => this.#incident({ type: 'incident.opened', at: e.start, component: e.component })),
      monitor.on('incidentResolved', (e) =>
        this.#incident({ type: 'incident.resolved', at: e.end, start: e.start, component: e.component }),
      ),
      monitor.notebook.on('update', (u) => this.#updated(u)),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }

  #incident(update: SubscriberUpdate & { component: string }): void {
    if (!this.#enabled()) return;
    const component = this.#options.config().components.find((c) => c.name === update.component);
    if (component?.public !== true || this.#options.maintenance.activeFor(component, update.at).length > 0) return;
    const claim = this.#options.claim;
    if (claim === undefined) {
      this.enqueue(update);
      return;
    }
    // one announcement per incident and phase, whichever instance saw it; a claim that fails sends anyway
    const key = `${update.type}:${update.component}:${update.type === 'incident.resolved' ? update.start : update.at}`;
    this.#track(
      claim(key, this.#clock.now())
        .catch(() => true)
        .then((mine) => {
          if (mine) this.enqueue(update);
        }),
      'send',
    );
  }

  #updated(u: IncidentUpdateRecord): void {
    if (!this.#enabled() || u.visibility !== 'public') return;
    this.#track(
      this.#options.incident(u.incidentId).then((incident) => {
        const component = this.#options.config().components.find((c) => c.name === incident?.component);
        if (component?.public !== true) return;
        this.enqueue({
          type: 'incident.updated',
          at: u.time,
          component: component.name,
          incident: u.incidentId,
          status: u.status,
          message: u.message,
        });
      }),
      'send',
    );
  }

  /** Adds an update to the next batch: sent `group.wait` after it, and no sooner than `group.interval` after the last batch. */
  enqueue(update: SubscriberUpdate): void {
    this.#queue.push(update);
    if (this.#queue.length > MAX_QUEUED) this.#queue.splice(0, this.#queue.length - MAX_QUEUED);
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    const { wait, interval } = this.#options.config().subscribers.group;
    const now = this.#clock.now();
    const due = Math.max(now + wait, (this.#lastSent ?? Number.NEGATIVE_INFINITY) + interval);
    this.#timer = this.#clock.setTimeout(() => this.#flush(), due - now);
    this.#timer.unref(); // settle() sends what waits at shutdown
  }

  #flush(): void {
    this.#timer?.clear();
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const updates = this.#queue;
    this.#queue = [];
    this.#lastSent = this.#clock.now();
    this.#track(this.#send(updates), 'send');
  }

  async #send(updates: SubscriberUpdate[]): Promise<void> {
    const now = this.#clock.now();
    let plan: Array<{ subscriber: SubscriberRecord; updates: SubscriberUpdate[]; token: string }>;
    try {
      const subscribers = (await this.#options.store.subscribers.list()).filter((s) => s.confirmedAt !== null);
      plan = subscribers.flatMap((subscriber) => {
        const follows = subscriber.components;
        const mine = follows === null ? updates : updates.filter((u) => componentsOf(u).some((c) => follows.includes(c)));
        return mine.length === 0 ? [] : [{ subscriber, updates: mine, token: newToken() }];
      });
      // stored before any message goes: its unsubscribe link works the moment it arrives
      await this.#options.store.subscribers.addTokens(
        plan.map((p) => ({ hash: tokenHash(p.token), subscriberId: p.subscriber.id, at: now })),
      );
    } catch (error) {
      this.#queue.unshift(...updates);
      this.#arm();
      throw error;
    }
    const page = pageOf(this.#options.config());
    const channels = this.#options.channels;
    await pool(plan, CONCURRENCY, async ({ subscriber: s, updates: mine, token }) => {
      const unsubscribe = unsubscribeUrl(page, token);
      if (s.kind === 'webhook') return channels.post(s.address, s.secret ?? '', updateBody(mine, page, unsubscribe), s.id);
      // RFC 8058: a mail client may unsubscribe with one POST to the link, without opening it
      const headers = { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
      return channels.mail(s.address, updateMail(mine, page, unsubscribe), headers, s.id);
    });
  }

  /** Looks at maintenance now (announcing what became due, started or ended) and prunes hourly; {@link start} runs it every minute. */
  async tick(): Promise<void> {
    if (!this.#enabled()) return;
    const now = this.#clock.now();
    try {
      await this.#announceMaintenance(now);
    } catch (error) {
      this.#options.onError?.(error, 'maintenance');
    }
    if (now - this.#lastPruned < 60 * MINUTE) return;
    this.#lastPruned = now;
    const ttl = this.#options.config().subscribers.confirmTtl;
    await this.#options.store.subscribers
      .prune({ pendingBefore: now - ttl, before: now - TOKEN_TTL })
      .catch((error: unknown) => this.#options.onError?.(error, 'prune'));
  }

  async #announceMaintenance(now: number): Promise<void> {
    const config = this.#options.config();
    const book = this.#options.maintenance;
    const shown = config.components.filter((c) => c.public);
    const store = this.#options.store.subscribers;
    for (const w of book.all()) {
      const components = shown.filter((c) => covers(w, c)).map((c) => c.name);
      if (components.length === 0) continue;
      for (const o of book.occurrences(w, now - LOOKBACK, now + config.subscribers.announceAhead)) {
        const key = (phase: string) => `maintenance:${w.name}:${o.from}:${phase}`;
        let phase: 'scheduled' | 'started' | 'ended';
        if (o.from > now) phase = 'scheduled';
        else if (o.to > now) phase = 'started';
        else if (this.#claimed.has(key('started')) || (await store.noticed(key('started')))) phase = 'ended';
        else continue; // over before it was seen to start: old news
        if (this.#claimed.has(key(phase))) continue;
        if (this.#claimed.size > 10_000) this.#claimed.clear();
        this.#claimed.add(key(phase));
        if (!(await store.claimNotice(key(phase), now))) continue;
        const at = phase === 'scheduled' ? now : phase === 'started' ? o.from : o.to;
        const { name, title, description } = w;
        this.enqueue({ type: `maintenance.${phase}`, at, name, title, description, start: o.from, end: o.to, components });
      }
    }
  }

  /** Runs {@link tick} now and every minute until {@link stop}. */
  start(): void {
    const loop = () => {
      this.#ticker = this.#clock.setTimeout(() => {
        void this.tick().finally(() => {
          if (this.#ticker !== undefined) loop();
        });
      }, TICK);
      this.#ticker.unref();
    };
    this.#track(this.tick(), 'maintenance');
    loop();
  }

  /** Stops looking at maintenance and sends what waits. */
  async stop(): Promise<void> {
    this.#ticker?.clear();
    this.#ticker = undefined;
    await this.settle();
  }

  #track(work: Promise<void>, during: 'send' | 'maintenance'): void {
    const p = work.catch((error: unknown) => this.#options.onError?.(error, during)).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Sends the batch waiting now and waits for every message on its way: at shutdown, and in tests. */
  async settle(): Promise<void> {
    this.#flush();
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Waits for the messages on their way, leaving a waiting batch to its timer. */
  async delivered(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }
}
