import type { NinesConfig } from '../config/index.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { Events } from '../core/events.js';
import type { Connectivity } from '../monitor/connectivity.js';
import type { History } from '../monitor/history.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { AlertRecord, Store } from '../monitor/store/types.js';
import { markAcknowledged } from './acknowledged.js';
import { burning } from './burn.js';
import { type ActiveAlert, AlertBook, type AlertCandidate, type AlertEvent, announcementKey } from './lifecycle.js';
import { holdNoise } from './noise.js';
import { BURN_ALERT_NAME, burnAlertAnnotations, burnAlertLabels } from './prometheus-rules.js';
import type { Silencer } from './silencing.js';
import { type BackupAges, thresholdCandidates } from './thresholds.js';

/** Options of {@link AlertEvaluator}. */
export interface AlertEvaluatorOptions {
  /** The config in force (read at every evaluation, so a reload takes effect at the next). */
  config: () => Pick<NinesConfig, 'slos' | 'alerts' | 'components' | 'connectivity'> & Partial<Pick<NinesConfig, 'backup'>>;
  /** The figures the rules read: the same in-memory figures as `/metrics`. */
  history: History;
  /** The components' current statuses (open incidents, flapping), for the threshold rules and noise control. Default: none. */
  statuses?: () => ComponentStatus[];
  /** Where pending and firing alerts are kept across restarts. */
  store: Pick<Store, 'alerts' | 'saveAlerts'>;
  /** The monitor's connectivity guard: while it suspects its network, alerts are not created (noise.ts). Default: trusted. */
  connectivity?: () => Connectivity;
  /** What silences an alert now (maintenance, silences): it still fires, unannounced (silencing.ts). Default: nothing. */
  silencedBy?: Silencer;
  /** When each backup target last succeeded, for the `backup` rules (`nines serve`'s schedules). Default: cannot tell. */
  backups?: BackupAges;
  /** Default `systemClock`. */
  clock?: Clock;
  /**
   * Claims an announcement before it is sent (the HA monitor: a unique row in the store); false
   * means another instance announced it, and it is not sent. With it, an evaluation's changes are
   * saved before its events go out, so an instance taking over reads them. Default: none (one node).
   */
  claim?: (key: string, at: number) => Promise<boolean>;
  /** Called when the store cannot be read or written; evaluation goes on and the write is retried. A failed claim sends anyway. */
  onError?: (error: unknown, during: 'load' | 'save' | 'claim') => void;
}

/** Events an {@link AlertEvaluator} emits: every firing, reminder and resolution, for the notifiers. */
export interface AlertEvaluatorEvents {
  alert: AlertEvent;
  /** After every evaluation: the alerts pending or firing now, and its events (for senders that resend state, as to Alertmanager). */
  evaluated: { at: number; active: ActiveAlert[]; events: AlertEvent[] };
}

/**
 * Evaluates every alert rule on a schedule (`alerts.evaluationInterval`) on the monitor's figures
 * and runs their lifecycle (lifecycle.ts). The first evaluation waits for the stored alerts to be
 * read, so a restart neither re-pages a firing alert nor forgets it; a rule whose figures are not
 * known yet (history still loading) leaves its alert as it was.
 */
export class AlertEvaluator extends Events<AlertEvaluatorEvents> {
  readonly #options: AlertEvaluatorOptions;
  readonly #clock: Clock;
  #book: AlertBook | undefined;
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  /** Changes not yet written (the store was down): written with the next evaluation's. */
  readonly #unsaved = new Map<string, AlertRecord | null>();

  constructor(options: AlertEvaluatorOptions) {
    super();
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Starts evaluating: one evaluation now (after reading the stored alerts), then every interval. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#book = undefined; // read again: another instance may have evaluated meanwhile (the HA monitor)
    this.#tick();
  }

  /** Stops the schedule and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.clear();
    this.#timer = undefined;
    await this.#running;
  }

  /** Pending and firing alerts, oldest first; empty until the stored ones have been read. */
  active(): ActiveAlert[] {
    return this.#book?.active() ?? [];
  }

  /** Runs one evaluation now (the schedule runs it too); resolves once its changes are saved or set aside. */
  evaluate(): Promise<void> {
    this.#running ??= this.#evaluate().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #tick(): void {
    void this.evaluate().finally(() => {
      if (this.#stopped) return;
      this.#timer = this.#clock.setTimeout(() => this.#tick(), this.#options.config().alerts.evaluationInterval);
      this.#timer.unref();
    });
  }

  async #evaluate(): Promise<void> {
    const config = this.#options.config();
    if (this.#book === undefined) {
      try {
        this.#book = new AlertBook(await this.#options.store.alerts(), { repeatIntervalMs: config.alerts.repeatInterval });
      } catch (error) {
        this.#options.onError?.(error, 'load');
        return; // not without the stored alerts: it would page again for one already firing
      }
    }
    const now = this.#clock.now();
    const statuses = this.#options.statuses?.() ?? [];
    const silencedBy = this.#options.silencedBy;
    const connectivity = this.#options.connectivity?.();
    const candidates = holdNoise(
      [...this.#candidates(config, now), ...thresholdCandidates(config, statuses, this.#options.history, now, this.#options.backups)],
      statuses,
      config.components,
      connectivity === undefined ? undefined : { ...connectivity, severity: config.connectivity.severity },
    ).map((c) => (silencedBy === undefined ? c : { ...c, silencedBy: silencedBy(c.labels, now) }));
    const result = this.#book.evaluate(markAcknowledged(candidates, statuses), now, config.alerts.repeatInterval);
    for (const a of result.changed) this.#unsaved.set(a.fingerprint, a);
    for (const fp of result.removed) this.#unsaved.set(fp, null);
    const claim = this.#options.claim;
    let events = result.events;
    if (claim !== undefined) {
      await this.#save();
      events = await this.#claimed(claim, events, now);
    }
    for (const event of events) this.emit('alert', event);
    if (this.listening('evaluated')) this.emit('evaluated', { at: now, active: this.#book.active(), events });
    if (claim === undefined) await this.#save();
  }

  /** The events this instance may announce: claimed here, or not claimable (the store is down: better twice than never). */
  async #claimed(claim: (key: string, at: number) => Promise<boolean>, events: readonly AlertEvent[], now: number): Promise<AlertEvent[]> {
    const kept: AlertEvent[] = [];
    for (const event of events) {
      try {
        if (await claim(announcementKey(event), now)) kept.push(event);
      } catch (error) {
        this.#options.onError?.(error, 'claim');
        kept.push(event);
      }
    }
    return kept;
  }

  #candidates(config: Pick<NinesConfig, 'slos'>, now: number): AlertCandidate[] {
    const candidates: AlertCandidate[] = [];
    for (const slo of config.slos) {
      const figures = this.#options.history.runningSlo(slo, now);
      for (const alert of slo.alerts) {
        candidates.push({
          labels: { alertname: BURN_ALERT_NAME, ...burnAlertLabels(slo, alert) },
          annotations: burnAlertAnnotations(slo, alert),
          holds: figures === undefined ? undefined : burning(alert, figures),
          forMs: alert.forMs,
        });
      }
    }
    return candidates;
  }

  async #save(): Promise<void> {
    if (this.#unsaved.size === 0) return;
    const batch = new Map(this.#unsaved);
    const put = [...batch.values()].filter((a): a is AlertRecord => a !== null);
    const remove = [...batch].filter(([, a]) => a === null).map(([fp]) => fp);
    try {
      await this.#options.store.saveAlerts({ put, remove });
      for (const [fp, a] of batch) if (this.#unsaved.get(fp) === a) this.#unsaved.delete(fp);
    } catch (error) {
      this.#options.onError?.(error, 'save');
    }
  }
}
