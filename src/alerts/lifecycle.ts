import { createHash } from 'node:crypto';
import type { AlertRecord } from '../monitor/store/types.js';

/**
 * An alert that is pending or firing: what the store keeps, so a restart neither re-pages nor
 * forgets it, and what silences it now (not stored: silences are re-read at every evaluation).
 */
export type ActiveAlert = AlertRecord & { silencedBy?: readonly string[] | undefined };

/** One rule's verdict at an evaluation: its labels, and whether its condition holds. */
export interface AlertCandidate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Undefined when the rule cannot tell yet (its figures are still loading): the alert stays as it is. */
  holds: boolean | undefined;
  /** How long the condition must hold before the alert fires. */
  forMs: number;
  /** Why it must not be announced now (a silence's id, a maintenance window): it still pends, fires and resolves, silently. */
  silencedBy?: readonly string[] | undefined;
  /** Someone acknowledged the incident behind it: no reminders while true (it still fires and resolves). */
  acknowledged?: boolean;
}

/** What an evaluation changed, for notifiers: a new firing alert, a reminder of one still firing, a resolution. */
export interface AlertEvent {
  kind: 'firing' | 'repeat' | 'resolved';
  alert: ActiveAlert;
  at: number;
  /** For a repeat: when the alert was announced before it (so two evaluators repeating it at once make one {@link announcementKey}). */
  previous?: number;
}

/**
 * What identifies one announcement across instances: the same for the same alert (fingerprint and
 * activation), kind and, for a repeat, the announcement it repeats, whichever instance evaluated it.
 * The HA monitor inserts it as a unique row before sending, so a takeover never announces twice.
 */
export function announcementKey(event: AlertEvent): string {
  const base = `alert:${event.alert.fingerprint}:${event.alert.activeAt}:${event.kind}`;
  return event.kind === 'repeat' ? `${base}:${event.previous ?? ''}` : base;
}

/** Result of {@link AlertBook.evaluate}: the events and what the store must write. */
export interface AlertEvaluation {
  events: AlertEvent[];
  /** Alerts new or changed: to upsert. */
  changed: ActiveAlert[];
  /** Fingerprints of alerts no longer pending or firing: to delete. */
  removed: string[];
}

/** A stable hash of a label set, independent of key order. */
export function fingerprint(labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/**
 * The pending → firing → resolved life of every alert, as Prometheus runs it: a condition that holds
 * makes an alert pending, holding it for `for` makes it fire, the first evaluation it no longer
 * holds resolves it (a pending alert that stops holding just goes, unannounced). A firing alert is
 * announced again every `repeatIntervalMs` until it resolves. A silenced alert is not announced:
 * as Alertmanager does, it is announced once the silence ends if it still fires, and its
 * resolution only if its firing was (`sentAt` tells). Pure: time comes in as `now`.
 */
export class AlertBook {
  readonly #alerts = new Map<string, ActiveAlert>();
  readonly #repeatIntervalMs: number;

  /** `initial`: the alerts the store kept (after a restart). */
  constructor(initial: readonly ActiveAlert[], options: { repeatIntervalMs: number }) {
    for (const a of initial) this.#alerts.set(a.fingerprint, { ...a });
    this.#repeatIntervalMs = options.repeatIntervalMs;
  }

  /** Pending and firing alerts, oldest first. */
  active(): ActiveAlert[] {
    return [...this.#alerts.values()].sort((a, b) => a.activeAt - b.activeAt);
  }

  /**
   * Applies one evaluation of every rule at `now`. An alert whose rule is gone (a reload removed
   * it) counts as not holding, so it resolves rather than firing forever; one whose rule cannot
   * tell yet stays as it is.
   */
  evaluate(candidates: readonly AlertCandidate[], now: number, repeatIntervalMs = this.#repeatIntervalMs): AlertEvaluation {
    const out: AlertEvaluation = { events: [], changed: [], removed: [] };
    const seen = new Set<string>();
    for (const c of candidates) {
      const fp = fingerprint(c.labels);
      if (seen.has(fp)) continue; // two rules with one label set are one alert
      seen.add(fp);
      const known = this.#alerts.get(fp);
      if (c.holds === undefined) continue;
      if (!c.holds) {
        if (known) this.#remove(known, now, out);
        continue;
      }
      const alert: ActiveAlert = known ?? {
        fingerprint: fp,
        labels: c.labels,
        annotations: c.annotations,
        state: 'pending',
        activeAt: now,
      };
      alert.annotations = c.annotations;
      alert.silencedBy = c.silencedBy !== undefined && c.silencedBy.length > 0 ? c.silencedBy : undefined;
      let changed = known === undefined;
      if (alert.state === 'pending' && now - alert.activeAt >= c.forMs) {
        alert.state = 'firing';
        alert.firedAt = now;
        changed = true;
      }
      if (alert.state !== 'firing' || alert.silencedBy !== undefined) {
        // pending, or silenced: nothing to announce
      } else if (alert.sentAt === undefined) {
        alert.sentAt = now;
        out.events.push({ kind: 'firing', alert: { ...alert }, at: now });
        changed = true;
      } else if (c.acknowledged !== true && now - alert.sentAt >= repeatIntervalMs) {
        const previous = alert.sentAt;
        alert.sentAt = now;
        out.events.push({ kind: 'repeat', alert: { ...alert }, at: now, previous });
        changed = true;
      }
      this.#alerts.set(fp, alert);
      if (changed) out.changed.push({ ...alert });
    }
    for (const alert of [...this.#alerts.values()]) if (!seen.has(alert.fingerprint)) this.#remove(alert, now, out);
    return out;
  }

  #remove(alert: ActiveAlert, now: number, out: AlertEvaluation): void {
    this.#alerts.delete(alert.fingerprint);
    out.removed.push(alert.fingerprint);
    if (alert.state === 'firing' && alert.sentAt !== undefined) out.events.push({ kind: 'resolved', alert: { ...alert }, at: now });
  }
}
