import { z } from 'zod';
import { duration } from './duration.js';

const HOUR = 3_600_000;

/** The windows `nines_availability_ratio` is exported over, by label, so Prometheus can evaluate the same rule. */
export const AVAILABILITY_WINDOWS = { '1h': HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR, '30d': 30 * 24 * HOUR } as const;

/**
 * The windows a failure rate is counted over: short ones, for failures too sparse or too brief to
 * open an incident; longer spans are the availability rule's and the SLOs' (time-weighted, exact
 * across restarts). nines keeps these counts in memory only, so the longest is also the longest
 * warm-up after a restart.
 */
export const FAILURE_RATE_WINDOWS = { '5m': 5 * 60_000, '15m': 15 * 60_000, '1h': HOUR } as const;

/** The keys of `windows` as the tuple z.enum takes. */
const labelsOf = <T extends object>(windows: T) => Object.keys(windows) as [keyof T & string, ...Array<keyof T & string>];
const WINDOW_LABELS = labelsOf(AVAILABILITY_WINDOWS);
const FAILURE_WINDOW_LABELS = labelsOf(FAILURE_RATE_WINDOWS);

const severity = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'expected a word like page, ticket or info')
  .default('ticket');
const labels = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name'), z.string()).default({});
const name = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower case letters, digits, ".", "_" or "-"');

const common = {
  /** Names the rule in the alert's `rule` label. */
  name,
  /** One component, or every component when left out (one alert each). */
  component: z.string().optional(),
  severity,
  labels,
};

/** Availability over one of the exported windows below a percentage, for `for`. */
const availability = z.strictObject({
  ...common,
  type: z.literal('availability'),
  window: z.enum(WINDOW_LABELS, { error: `expected one of ${WINDOW_LABELS.join(', ')}` }),
  /** Percent: the alert holds while availability is below it. */
  below: z.number().gt(0).lt(100),
  for: duration().default(0),
});

/** An incident open longer than `for` (default 5 min). */
const incident = z.strictObject({
  ...common,
  type: z.literal('incident'),
  for: duration().default(5 * 60_000),
});

/** Failed checks (unhealthy results) over `window` above a percentage of all checks, for `for`. */
const failureRate = z.strictObject({
  ...common,
  type: z.literal('failureRate'),
  window: z.enum(FAILURE_WINDOW_LABELS, { error: `expected one of ${FAILURE_WINDOW_LABELS.join(', ')}` }).default('15m'),
  /** Percent of checks: the alert holds while more than this failed. */
  above: z.number().min(0).lt(100),
  for: duration().default(0),
});

/** Degraded (slow but passing) without a break for longer than `for` (default 15 min). */
const degraded = z.strictObject({
  ...common,
  type: z.literal('degraded'),
  for: duration().default(15 * 60_000),
});

/** The TLS certificate the component's check last saw expires within `days` (default 14). */
const certificate = z.strictObject({
  ...common,
  type: z.literal('certificate'),
  days: z.number().gt(0).default(14),
});

/** A circuit breaker of a service using nines' policies open (or half-open) for longer than `for`: a Prometheus rule only. */
const breaker = z.strictObject({
  name,
  severity,
  labels,
  type: z.literal('breaker'),
  /** The breaker's name (its `name` label); every breaker when left out. */
  breaker: z.string().min(1).optional(),
  for: duration().default(5 * 60_000),
});

/** The newest complete backup of a target (`backup.targets`) older than `olderThan`, or none at all. */
const backup = z.strictObject({
  name,
  severity,
  labels,
  type: z.literal('backup'),
  /** A target of `backup.targets`; every target when left out (one alert each). */
  target: z.string().min(1).optional(),
  /** Default 26 h: a daily backup two hours late. */
  olderThan: duration({ min: 60_000 }).default(26 * HOUR),
});

/** No successful restore drill of a target (`nines backup drill`) within `olderThan`, or its last drill failed. */
const drill = backup.extend({
  type: z.literal('drill'),
  /** Default 8 d: a weekly drill a day late. */
  olderThan: duration({ min: 60_000 }).default(8 * 24 * HOUR),
});

const RULES = [availability, incident, failureRate, degraded, certificate, breaker, backup, drill] as const;
const TYPES = RULES.map((r) => r.shape.type.value);

/** `alerts.rules`: threshold rules beside the built-in burn-rate alerts. */
export const alertRules = z
  .array(z.discriminatedUnion('type', RULES, { error: `expected type: ${TYPES.slice(0, -1).join(', ')} or ${TYPES.at(-1)}` }))
  .default([]);

/** One threshold rule. */
export type AlertRuleConfig = z.output<typeof alertRules>[number];

/** Whether a check reads a TLS certificate (an http check over https, a tlsCertificate check): what a certificate rule needs. */
export function readsCertificate(check: { type?: unknown; url?: unknown }): boolean {
  return check.type === 'tlsCertificate' || (check.type === 'http' && typeof check.url === 'string' && /^https:/i.test(check.url));
}
