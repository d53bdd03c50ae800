/**
 * How `nines serve` stops (docs/shutdown.md). Every grace period that wraps it — Compose's
 * `stop_grace_period`, systemd's `TimeoutStopSec`, Kubernetes' `terminationGracePeriodSeconds` —
 * must exceed {@link serveShutdownBudgetMs}, or SIGKILL arrives before nines has flushed its last results.
 */
export const SERVE_SHUTDOWN = {
  /** Default drain delay in ms (readiness false, still serving); `NINES_DRAIN_DELAY_MS` overrides it. */
  drainDelayMs: 5_000,
  /** ms in-flight requests get after the drain delay. */
  timeoutMs: 10_000,
  /** ms each cleanup hook (monitor flush, store close, …) may take. */
  hookTimeoutMs: 5_000,
  /** Cleanup hooks serve registers (store, flags, monitor, notify, subscribers, alerts, backups, ha); a test counts them in a real stop. */
  hooks: 8,
} as const;

/** The drain delay `nines serve` uses under `env`. */
export function serveDrainDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.NINES_DRAIN_DELAY_MS ?? SERVE_SHUTDOWN.drainDelayMs);
}

/** The longest `nines serve` can take to stop on its own: drain + in-flight timeout + every hook's timeout. */
export function serveShutdownBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  return serveDrainDelayMs(env) + SERVE_SHUTDOWN.timeoutMs + SERVE_SHUTDOWN.hooks * SERVE_SHUTDOWN.hookTimeoutMs;
}
