import type { ActiveAlert, AlertEvent } from '../alerts/lifecycle.js';
import type { AlertmanagerConfig } from '../config/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import { readable, redactUrl } from '../core/redact.js';
import { timeout } from '../policy/timeout.js';
import { postableAlert } from './payload.js';
import { postJson } from './webhook.js';

/** How long a resolved alert is sent again, so an Alertmanager that missed it still learns (Prometheus: 15 min). */
export const RESOLVED_RESEND_MS = 15 * 60_000;

export type { PostableAlert } from './payload.js';

/** The outcome of one POST to one Alertmanager. */
export interface PostResult {
  /** The Alertmanager, its credentials (if any) redacted. */
  url: string;
  error?: string;
}

/**
 * Keeps every configured Alertmanager told, as Prometheus does: after each evaluation with news (an
 * alert fired or resolved) and at least every `resendInterval`, it POSTs every firing alert with
 * `endsAt` four intervals ahead (so an Alertmanager that stops hearing from nines resolves them
 * itself) and each alert resolved in the last 15 minutes with its real `endsAt`. Labels are
 * Alertmanager's de-duplication key. Each Alertmanager is posted to on its own; the next resend is
 * the retry.
 */
export class AlertmanagerSender {
  readonly #config: AlertmanagerConfig;
  readonly #clock: Clock;
  readonly #baseUrl: string;
  readonly #policy;
  /** Resolved alerts still being sent, by fingerprint. */
  readonly #resolved = new Map<string, { alert: ActiveAlert; at: number }>();
  #lastPost = Number.NEGATIVE_INFINITY;

  constructor(config: AlertmanagerConfig, options: { clock?: Clock; baseUrl?: string } = {}) {
    this.#config = config;
    this.#clock = options.clock ?? systemClock;
    this.#baseUrl = options.baseUrl ?? '';
    this.#policy = timeout(config.timeout, { clock: this.#clock });
  }

  /**
   * Takes one evaluation's result (those alerts the routes give this receiver); resolves with one
   * result per Alertmanager posted to, or none when nothing was due.
   */
  async evaluated(at: number, active: readonly ActiveAlert[], events: readonly AlertEvent[]): Promise<PostResult[]> {
    for (const e of events) if (e.kind === 'resolved') this.#resolved.set(e.alert.fingerprint, { alert: e.alert, at: e.at });
    for (const [fp, r] of this.#resolved) if (at - r.at > RESOLVED_RESEND_MS) this.#resolved.delete(fp);
    const news = events.some((e) => e.kind !== 'repeat');
    if (!news && at - this.#lastPost < this.#config.resendInterval) return [];
    // a silenced alert, or one whose firing was never announced, is not Alertmanager's to route
    const firing = active.filter((a) => a.state === 'firing' && a.sentAt !== undefined && a.silencedBy === undefined);
    if (firing.length === 0 && this.#resolved.size === 0) return [];
    this.#lastPost = at;
    const endsAhead = new Date(at + 4 * this.#config.resendInterval).toISOString();
    const body = JSON.stringify([
      ...firing.map((a) => postableAlert(a, endsAhead, this.#baseUrl)),
      ...[...this.#resolved.values()].map((r) => postableAlert(r.alert, new Date(r.at).toISOString(), this.#baseUrl)),
    ]);
    return Promise.all(this.#config.urls.map((url) => this.#post(url, body)));
  }

  async #post(url: string, body: string): Promise<PostResult> {
    try {
      await this.#policy.execute(async ({ signal }) => {
        await postJson(`${url}/api/v2/alerts`, body, {}, signal);
      });
      return { url: redactUrl(url) };
    } catch (error) {
      return { url: redactUrl(url), error: readable(error, [url]).message };
    }
  }
}
