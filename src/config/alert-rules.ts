import { z } from 'zod';
import { duration } from './duration.js';

const HOUR = 3_600_000;

/** The windows `nines_availability_ratio` is exported over, by label, so Prometheus can evaluate the same rule. */
export const AVAILABILITY_WINDOWS = { '1h': HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR, '30d': 30 * 24 * HOUR } as const;

const WINDOW_LABELS = Object.keys(AVAILABILITY_WINDOWS) as [keyof typeof AVAILABILITY_WINDOWS, ...Array<keyof typeof AVAILABILITY_WINDOWS>];

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

/** `alerts.rules`: threshold rules beside the built-in burn-rate alerts. */
export const alertRules = z
  .array(z.discriminatedUnion('type', [availability, incident], { error: 'expected type: availability or incident' }))
  .default([]);

/** One threshold rule. */
export type AlertRuleConfig = z.output<typeof alertRules>[number];
