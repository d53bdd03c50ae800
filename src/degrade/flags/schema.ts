import { z } from 'zod';
import { FLAG_LEVELS } from './level.js';

/** Operators of a rule's conditions, Unleash's names and meanings. */
export const FLAG_OPERATORS = [
  'IN',
  'NOT_IN',
  'STR_STARTS_WITH',
  'STR_ENDS_WITH',
  'STR_CONTAINS',
  'NUM_EQ',
  'NUM_GT',
  'NUM_GTE',
  'NUM_LT',
  'NUM_LTE',
  'DATE_AFTER',
  'DATE_BEFORE',
  'SEMVER_EQ',
  'SEMVER_GT',
  'SEMVER_GTE',
  'SEMVER_LT',
  'SEMVER_LTE',
] as const;

/** One operator of {@link FLAG_OPERATORS}. */
export type FlagOperator = (typeof FLAG_OPERATORS)[number];

const LIST_OPERATORS: ReadonlySet<string> = new Set(['IN', 'NOT_IN', 'STR_STARTS_WITH', 'STR_ENDS_WITH', 'STR_CONTAINS']);

// YAML reads `values: [1, 2]` as numbers; rules compare text, as Unleash's do.
const text = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const name = z.string().min(1, 'must not be empty');

const condition = z
  .strictObject({
    attribute: name,
    operator: z.enum(FLAG_OPERATORS),
    values: z.array(text).optional(),
    value: text.optional(),
    inverted: z.boolean().optional(),
    caseInsensitive: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const list = LIST_OPERATORS.has(c.operator);
    if (list && c.values === undefined) ctx.addIssue({ code: 'custom', path: ['values'], message: `${c.operator} needs a list of values` });
    if (!list && c.value === undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `${c.operator} needs one value` });
  });

const payload = z.strictObject({
  type: z.enum(['string', 'json', 'csv', 'number']),
  // a JSON payload may be written as YAML; it is kept as text, as Unleash sends it
  value: z.unknown().transform((v, ctx) => {
    if (typeof v === 'string') return v;
    if (v === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    return typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  }),
});

const variant = z.strictObject({
  name,
  weight: z.number().int('must be an integer').min(0).default(1),
  payload: payload.optional(),
  stickiness: name.optional(),
  overrides: z.array(z.strictObject({ attribute: name, values: z.array(text) })).optional(),
});

const rule = z.strictObject({
  when: z.array(condition).optional(),
  rollout: z.number().min(0).max(100).optional(),
  stickiness: name.optional(),
  groupId: z.string().optional(),
  variants: z.array(variant).optional(),
});

/**
 * One flag's definition, as a file, a store or an admin API receives it (input) and as the flag
 * set holds it (output, defaults filled in). Reuse it to validate a flag before `FlagSet.set`.
 */
export const flagDefinitionSchema = z.strictObject({
  enabled: z.boolean().default(true),
  description: z.string().optional(),
  minLevel: z.enum(FLAG_LEVELS).optional(),
  dependsOn: z.array(z.strictObject({ flag: name, enabled: z.boolean().optional(), variants: z.array(name).optional() })).optional(),
  rules: z.array(rule).optional(),
  variants: z.array(variant).optional(),
});

/** A flag as written (defaults may be left out). */
export type FlagInput = z.input<typeof flagDefinitionSchema>;
/** A flag as held: validated, defaults filled in. */
export type FlagDefinition = z.output<typeof flagDefinitionSchema>;
/** One condition of a rule. */
export type FlagCondition = z.output<typeof condition>;
/** One rule: its conditions all hold and the key falls in its rollout. */
export type FlagRule = z.output<typeof rule>;
/** One variant definition. */
export type FlagVariantDefinition = z.output<typeof variant>;

/** Every flag by name. */
export const flagRecordSchema = z.record(name, flagDefinitionSchema);

/**
 * Reports, through `ctx`, each parent named in a `dependsOn` that is not in `flags` or depends on
 * other flags itself (Unleash's rule: one level of dependencies); `at` is where `flags` sits.
 */
export function checkFlagDependencies(flags: Record<string, FlagDefinition>, ctx: z.RefinementCtx, at: PropertyKey[] = []): void {
  for (const [flag, definition] of Object.entries(flags)) {
    definition.dependsOn?.forEach((dep, i) => {
      const parent = flags[dep.flag];
      const path = [...at, flag, 'dependsOn', i, 'flag'];
      if (parent === undefined) ctx.addIssue({ code: 'custom', path, message: `no flag "${dep.flag}" in this file` });
      else if (parent.dependsOn?.length) {
        ctx.addIssue({ code: 'custom', path, message: `"${dep.flag}" depends on other flags itself; only one level is allowed` });
      }
    });
  }
}

/**
 * A flag file: `{ flags: { <name>: <definition> } }`. A parent named in `dependsOn` must be in the
 * file and depend on nothing itself.
 */
export const flagFileSchema = z
  .strictObject({ version: z.literal(1).optional(), flags: flagRecordSchema.default({}) })
  .superRefine((file, ctx) => checkFlagDependencies(file.flags, ctx, ['flags']));

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** Every problem of a failed parse as `path: message`, the path as `flags.checkout.rules[0].rollout`. */
export function problemsOf(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    let path = prefix;
    for (const segment of issue.path) {
      if (typeof segment === 'number') path += `[${segment}]`;
      else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) path += path === '' ? segment : `.${segment}`;
      else path += `[${JSON.stringify(String(segment))}]`;
    }
    return `${path === '' ? '(root)' : path}: ${issue.message}`;
  });
}
