import type { Condition, ConditionContext, Placeholder } from '../config/index.js';
import type { ProbeStatus } from './store/types.js';

/** What one run of a component's check saw, before timeout, slowness and conditions are applied. */
export interface ProbeReading {
  status: ProbeStatus;
  /** Why the check is not healthy; may be redacted again by the probe. */
  error?: string;
  details?: Record<string, unknown>;
  /** Values for the conditions; the probe keeps only those the check type provides. */
  context: ConditionContext;
  /**
   * The check failed in a way a condition can assert on (refused: `[CONNECTED] == false`; no such
   * name: `[DNS_RCODE] == NXDOMAIN`), so conditions reading that value decide the run.
   */
  assertable?: boolean;
  /** When the TLS certificate the check saw expires (wall-clock ms); https and tlsCertificate checks only. */
  certificateExpiresAt?: number;
}

/** One run of a check: resolves with what it saw, throws when it could not measure at all. */
export type ReadProbe = (signal: AbortSignal) => Promise<ProbeReading>;

/** The {@link ConditionContext} field each placeholder reads. */
export const CONTEXT_FIELD: Record<Placeholder, keyof ConditionContext> = {
  STATUS: 'status',
  RESPONSE_TIME: 'responseTimeMs',
  BODY: 'body',
  CERTIFICATE_EXPIRATION: 'certificateExpirationMs',
  CONNECTED: 'connected',
  IP: 'ip',
  DNS_RCODE: 'dnsRcode',
};

/** Whether any of `conditions` reads one of `names` (directly, in len()/has(), on either side). */
export function reads(conditions: readonly Condition[], names: readonly Placeholder[]): boolean {
  return conditions.some((condition) =>
    [condition.left, condition.right].some((operand) => {
      if (operand.kind === 'placeholder') return names.includes(operand.name);
      if (operand.kind === 'len' || operand.kind === 'has') return names.includes(operand.arg.name);
      return false;
    }),
  );
}

/** A certificate's `valid_to` (as Node prints it, or ISO) in wall-clock ms, or undefined when it does not parse. */
export function expiryOf(validTo: unknown): number | undefined {
  if (typeof validTo !== 'string') return undefined;
  const at = Date.parse(validTo);
  return Number.isNaN(at) ? undefined : at;
}
