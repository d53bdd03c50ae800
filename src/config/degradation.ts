import { z } from 'zod';
import { InvalidOptionError } from '../core/errors.js';
import { DEGRADATION_LEVELS } from '../degrade/levels/levels.js';
import { compileRules, type DegradationRule } from '../degrade/levels/rules.js';
import { duration } from './duration.js';

const SECOND = 1000;

/** The checks `nines serve` runs on its own dependencies, which its degradation rules may name. */
export const SERVE_CHECKS = ['store'] as const;

const status = z.enum(['healthy', 'degraded', 'unhealthy', 'unknown']);

const rule = z.strictObject({
  /** Names the rule in metrics and the audit log. Default `check:<check>:<status>` or `health:<status>`. */
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9:._|-]*$/, 'expected a name like store-down')
    .optional(),
  /** While `check` (or, without it, the overall status of the service's own checks) has one of `status`. */
  when: z.strictObject({
    check: z.enum(SERVE_CHECKS).optional(),
    status: z.union([status, z.array(status).min(1)], {
      error: 'expected healthy, degraded, unhealthy or unknown, or a list of them',
    }),
  }),
  /** The level while it holds; the worst matching rule wins. */
  level: z.enum(DEGRADATION_LEVELS.filter((l) => l !== 'full') as ['degraded', 'minimal', 'maintenance']),
  /** The level's reason while this rule sets it. */
  reason: z.string().trim().min(1).max(500).optional(),
});

/** By default a history store that does not answer puts the service at `degraded`. */
const DEFAULT_RULES: z.input<typeof rule>[] = [
  { when: { check: 'store', status: 'unhealthy' }, level: 'degraded', reason: 'the history store does not answer' },
];

/** `degradation:` — what moves `nines serve`'s own level (docs/degradation.md#degradation-level-in-nines-serve). */
export const degradationSchema = z
  .strictObject({
    /** Time between two runs of the service's own checks. */
    interval: duration({ min: 100, max: 3_600_000 }).default(10 * SECOND),
    /** A check that has not answered after this is unhealthy. */
    timeout: duration({ min: 1, max: 60 * SECOND }).default(2 * SECOND),
    /** Rules over those checks; none keeps the level the operator's alone. */
    rules: z.array(rule).default(() => structuredClone(DEFAULT_RULES)),
  })
  .superRefine((d, ctx) => {
    try {
      compileRules(d.rules as DegradationRule[]); // names unique and not reserved
    } catch (error) {
      if (!(error instanceof InvalidOptionError)) throw error;
      const at = /^rules\[(\d+)\]\.(\w+)/.exec(error.message);
      ctx.addIssue({
        code: 'custom',
        path: at ? ['rules', Number(at[1]), at[2] as string] : ['rules'],
        message: error.message.replace(/^rules\[\d+\]\.\w+ /, ''),
      });
    }
  });

/** A validated `degradation:`. */
export type DegradationConfig = z.infer<typeof degradationSchema>;
