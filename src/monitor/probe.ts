import { type ComponentConfig, evaluateConditions, PLACEHOLDERS_BY_CHECK } from '../config/index.js';
import { type Clock, systemClock } from '../core/clock.js';
import { messageOf, redactText, secretsOf } from '../core/redact.js';
import { since } from '../health/checks/util.js';
import { TimeoutError, type TimeoutPolicy, timeout } from '../policy/timeout.js';
import { observerFor } from './probe-checks.js';
import { CONTEXT_FIELD, type ProbeReading, type ReadProbe, reads } from './probe-reading.js';
import type { ProbeStatus } from './store/types.js';

/** The outcome of one run of a component's check, with its timeout, slowness and conditions applied. */
export interface ProbeResult {
  /** Component name. */
  name: string;
  /** Wall-clock ms the run started. */
  time: number;
  durationMs: number;
  status: ProbeStatus;
  /** Readable reason when not healthy; never a secret. */
  error?: string;
  details?: Record<string, unknown>;
  /** When the TLS certificate the check saw expires (wall-clock ms): https and tlsCertificate checks that got that far. */
  certificateExpiresAt?: number;
  /**
   * The run timed out, but its deadline was noticed this many ms late: the monitor itself was
   * stalled (a blocked event loop), so the timeout is no evidence against the target.
   */
  stalledMs?: number;
}

/** A deadline noticed later than this (and than half the timeout) means the monitor stalled, not the target. */
const STALL_MS = 50;

/** Runs a component's check once; never rejects (a failure is an `unhealthy` result). */
export type Probe = (signal?: AbortSignal) => Promise<ProbeResult>;

/** Options of {@link createProbe}. */
export interface ProbeOptions {
  /** Source of time for `time`, `durationMs` and the timeout. Default `systemClock`. */
  clock?: Clock;
  /** Local IP address the http, tcp and tlsCertificate checks connect from (a multi-homed host; one loopback address per instance in tests). Default: the system's choice. */
  sourceAddress?: string;
}

/**
 * The aggressive timeout policy for `ms` on `clock`, one per pair: its deadline list then serves
 * every probe with that timeout from a single timer, instead of one timer per run (which, living
 * almost a whole interval, would be copied and promoted by the young generation's scavenges).
 */
const policies = new WeakMap<Clock, Map<number, TimeoutPolicy>>();
function timeoutPolicy(ms: number, clock: Clock): TimeoutPolicy {
  let byMs = policies.get(clock);
  if (byMs === undefined) {
    byMs = new Map();
    policies.set(clock, byMs);
  }
  let policy = byMs.get(ms);
  if (policy === undefined) {
    policy = timeout(ms, { strategy: 'aggressive', clock });
    byMs.set(ms, policy);
  }
  return policy;
}

/**
 * Builds the probe of `component`: its check under `timeout` (aggressive: the run ends at the
 * deadline with error `timeout` and the check's signal is aborted), degraded when a passing run is
 * slower than `degradedAfter`, unhealthy when a condition fails (each failure listed in `error`).
 */
export function createProbe(component: ComponentConfig, options: ProbeOptions = {}): Probe {
  const clock = options.clock ?? systemClock;
  const { name, check, conditions, degradedAfter } = component;
  const secrets = 'url' in check ? secretsOf(check.url) : [];
  const scrub = (text: string) => redactText(text, secrets);
  let observe: ReadProbe;
  try {
    observe = observerFor(check, conditions, clock, { sourceAddress: options.sourceAddress });
  } catch (error) {
    // a bug (the config was validated) or a bad sourceAddress; still a probe must never reject
    const reason = scrub(messageOf(error));
    return async () => ({ name, time: clock.now(), durationMs: 0, status: 'unhealthy', error: reason });
  }
  const policy = timeoutPolicy(component.timeout, clock);
  const provided = PLACEHOLDERS_BY_CHECK[check.type];
  // a refused connection or an NXDOMAIN passes when the conditions expect exactly that
  const conditionsDecideFailure = reads(conditions, ['CONNECTED', 'DNS_RCODE']);

  return async (signal) => {
    const time = clock.now();
    const start = performance.now();
    let certificateExpiresAt: number | undefined;
    const result = (status: ProbeStatus, error?: string, details?: Record<string, unknown>): ProbeResult => {
      const r: ProbeResult = { name, time, durationMs: clock.now() - time, status };
      if (error !== undefined) r.error = scrub(error);
      if (details !== undefined) r.details = details;
      if (certificateExpiresAt !== undefined) r.certificateExpiresAt = certificateExpiresAt;
      return r;
    };
    let observation: ProbeReading;
    try {
      // linked by hand: the aggressive timeout does not pass a caller's abort on to the run's signal
      observation = await policy.execute(
        ({ signal: deadline }) => observe(signal ? AbortSignal.any([deadline, signal]) : deadline),
        signal,
      );
    } catch (error) {
      if (!(error instanceof TimeoutError)) return result('unhealthy', messageOf(error));
      const late = clock.now() - (time + component.timeout);
      if (late <= Math.max(STALL_MS, component.timeout / 2)) return result('unhealthy', 'timeout');
      const stalled = result('unhealthy', `timeout noticed ${Math.round(late)} ms late: the monitor was stalled`);
      stalled.stalledMs = late;
      return stalled;
    }
    const { details } = observation;
    certificateExpiresAt = observation.certificateExpiresAt;
    const run = result(observation.status, observation.error, details);
    if (conditions.length === 0) return slow(run, degradedAfter);

    const context = Object.fromEntries(provided.map((p) => [CONTEXT_FIELD[p], observation.context[CONTEXT_FIELD[p]]]));
    context.responseTimeMs ??= since(start);
    const { ok, failed } = evaluateConditions(conditions, context);
    const failure = (error?: string) => result('unhealthy', [error, ...failed].filter(Boolean).join('; '), details);
    if (observation.status !== 'unhealthy') return ok ? slow(run, degradedAfter) : failure();
    if (observation.assertable && conditionsDecideFailure)
      return ok ? slow(result('healthy', undefined, details), degradedAfter) : failure(observation.error);
    return ok ? run : failure(observation.error);
  };
}

/** A passing run slower than `degradedAfter` becomes degraded. */
function slow(run: ProbeResult, degradedAfter: number): ProbeResult {
  if (run.status !== 'healthy' || run.durationMs <= degradedAfter) return run;
  return { ...run, status: 'degraded', error: `slow: ${run.durationMs} ms > ${degradedAfter} ms` };
}
