import type { Registry } from 'prom-client';
import type { ActiveAlert } from '../alerts/lifecycle.js';
import type { Silences } from '../alerts/silences.js';
import type { BackupSchedules } from '../backup/schedules.js';
import type { Clock } from '../core/clock.js';
import type { History } from '../monitor/history.js';
import type { Monitor } from '../monitor/monitor.js';
import type { DeadLetterRecord } from '../notify/notifier.js';
import type { Subscriptions } from '../notify/subscriptions.js';
import type { ServedDegradation } from './degradation.js';
import type { ServedFlags } from './flags.js';
import type { ServedLiveness } from './liveness.js';

/** What every route reads from. */
export interface ServerContext {
  monitor: Monitor;
  /** The monitor's history: every figure, record and page the server shows comes from it. */
  history: History;
  registry: Registry;
  /** The pending and firing alerts (the alert evaluator); undefined when none runs. */
  alerts: { active(): ActiveAlert[] } | undefined;
  /** Notifications no receiver took, newest first; undefined when nothing notifies. */
  deadLetters: ((limit: number) => Promise<DeadLetterRecord[]>) | undefined;
  /** Silences by label matchers (`/api/silences`); undefined when no evaluator runs. */
  silences: Silences | undefined;
  /** Status page subscribers (sign-up and admin); undefined when nines serve runs none. */
  subscriptions: Subscriptions | undefined;
  /** The backups of `nines serve` (`/api/backups`); undefined in tests without them. */
  backups: BackupSchedules | undefined;
  /** The flags of `nines serve` (`/api/flags`). */
  flags: ServedFlags;
  /** The degradation level of `nines serve` (`/api/degradation`); the flags' `minLevel` reads it. */
  degradation: ServedDegradation;
  clock: Clock;
  shutdown: { readonly shuttingDown: boolean } | undefined;
  /** The HA monitor's leases; undefined on one instance. */
  ha: { readonly ready: boolean } | undefined;
  liveness: ServedLiveness | undefined;
}
