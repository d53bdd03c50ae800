import { Cron } from 'croner';
import { z } from 'zod';
import { duration } from './duration.js';
import { IssueReader } from './issues.js';
import type { Problem } from './problems.js';

/** A time written as an ISO 8601 date-time with its offset (`2026-12-06T02:00:00Z`), in ms. */
const instant = z
  .string()
  .refine((v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(v) && Number.isFinite(Date.parse(v)), {
    message: 'expected an ISO 8601 date-time with an offset, like 2026-12-06T02:00:00Z',
  })
  .transform((v) => Date.parse(v));

/** An IANA time zone name that this Node knows. */
const timezone = z
  .string()
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected an IANA time zone such as UTC or Europe/Berlin' },
  )
  .default('UTC');

/** A cron expression croner accepts (5 or 6 fields, `@weekly` and friends); its own message on a typo. */
export const cron = z.string().superRefine((pattern, ctx) => {
  try {
    new Cron(pattern, { paused: true });
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid cron expression: ${(error as Error).message.replace(/^CronPattern: /, '')}` });
  }
});

/**
 * One maintenance window, one-off (`start`, `end`) or recurring (`cron` + `duration`, optionally
 * bounded by `start` and `end`), for some components, the components with some tags, or all.
 */
export const maintenanceWindow = z
  .strictObject({
    /** Identifies it in the API, the `silencedBy` of alerts and the page's anchors. */
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower case letters, digits, ".", "_" or "-"'),
    /** Shown on the status page. */
    title: z.string().min(1, 'must not be empty').max(200),
    description: z.string().max(2000).optional(),
    /** One-off: when it begins; recurring: no occurrence before it. */
    start: instant.optional(),
    /** One-off: when it ends; recurring: no occurrence after it. */
    end: instant.optional(),
    /** Recurring: when each occurrence begins, in `timezone`. */
    cron: cron.optional(),
    /** Recurring: how long each occurrence lasts. */
    duration: duration({ min: 60_000 }).optional(),
    timezone,
    /** Components it covers; with `tags` too, those with any of the tags also; with neither, every component. */
    components: z.array(z.string()).default([]),
    tags: z.array(z.string().min(1)).default([]),
    /** `exclude` (default): its time counts as neither up nor down; `count`: it counts as usual, alerts are still silenced. */
    availability: z.enum(['exclude', 'count'], { error: 'expected exclude or count' }).default('exclude'),
  })
  .superRefine((w, ctx) => {
    if (w.cron === undefined) {
      if (w.start === undefined) ctx.addIssue({ code: 'custom', path: ['start'], message: 'required for a one-off window (or give cron)' });
      if (w.end === undefined) ctx.addIssue({ code: 'custom', path: ['end'], message: 'required for a one-off window (or give cron)' });
      if (w.duration !== undefined)
        ctx.addIssue({ code: 'custom', path: ['duration'], message: 'only a recurring window (cron) has a duration' });
    } else if (w.duration === undefined) {
      ctx.addIssue({ code: 'custom', path: ['duration'], message: 'required with cron: how long each occurrence lasts' });
    }
    if (w.start !== undefined && w.end !== undefined && w.end <= w.start)
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
  });

/** `maintenance`: windows in the config (the API adds more, kept in the store). */
export const maintenanceSchema = z.array(maintenanceWindow).default([]);

/** One validated maintenance window: times in ms. */
export type MaintenanceConfig = z.output<typeof maintenanceWindow>;

/**
 * Reads one window given to the API (the config's syntax), checking that the components it names
 * exist: the window, or every problem as `path: message` (no input value is echoed).
 */
export function parseMaintenance(
  input: unknown,
  components: readonly string[],
): { ok: true; window: MaintenanceConfig } | { ok: false; problems: Problem[] } {
  const reader = new IssueReader();
  const parsed = maintenanceWindow.safeParse(input, { error: reader.errorMap });
  if (!parsed.success) return { ok: false, problems: reader.problems(parsed.error.issues, input, '(body)') };
  const problems = parsed.data.components.flatMap((c, i) =>
    components.includes(c) ? [] : [{ path: `components[${i}]`, message: `no component named ${JSON.stringify(c)}` }],
  );
  return problems.length > 0 ? { ok: false, problems } : { ok: true, window: parsed.data };
}
