import { conditionHolds } from './conditions.js';
import { attribute, type FlagContext } from './context.js';
import { type FlagLevel, levelAtLeast } from './level.js';
import { bucket, VARIANT_SEED } from './murmur3.js';
import type { FlagDefinition, FlagRule, FlagVariantDefinition } from './schema.js';

/** A variant as evaluated; `disabled` (enabled false) when the flag is off or has no variant. */
export interface FlagVariant {
  /** The variant's name, or `'disabled'`. */
  name: string;
  /** False for the `disabled` variant. */
  enabled: boolean;
  /** Whether the flag itself is on (Unleash's `feature_enabled`). */
  featureEnabled: boolean;
  /** The variant's payload, if it has one. */
  payload?: { type: 'string' | 'json' | 'csv' | 'number'; value: string };
}

/**
 * Why a flag came out as it did, in OpenFeature's words: `STATIC` on for everyone, `TARGETING_MATCH`
 * a rule's conditions matched, `SPLIT` a percentage or weighted variant chose, `DISABLED` switched off
 * (kill switch or degradation level), `DEFAULT` no rule or dependency let it on, or the flag is unknown.
 */
export type FlagReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT';

/** What turned a flag off. */
export type FlagOffCause = 'unknown' | 'killed' | 'level' | 'dependency' | 'rules';

/** One evaluation of one flag. */
export interface FlagEvaluation {
  /** Whether the flag is on. */
  enabled: boolean;
  /** The chosen variant, or the `disabled` one. */
  variant: FlagVariant;
  /** Why, for OpenFeature and logs. */
  reason: FlagReason;
  /** When off, what turned it off. */
  off?: FlagOffCause;
}

/** What evaluation reads besides the flag: the other flags, the level, time and chance. */
export interface EvaluationEnv {
  get(name: string): FlagDefinition | undefined;
  level(): FlagLevel;
  now(): number;
  random(): number;
}

const disabled = (featureEnabled: boolean): FlagVariant => ({ name: 'disabled', enabled: false, featureEnabled });

function off(cause: FlagOffCause, reason: FlagReason): FlagEvaluation {
  return { enabled: false, variant: disabled(false), reason, off: cause };
}

// Unleash's keys: a rollout's `default` is userId, sessionId, else a random one; a variant's adds remoteAddress.
function rolloutKey(stickiness: string, context: FlagContext, env: EvaluationEnv): string | undefined {
  if (stickiness === 'random') return String(Math.round(env.random() * 10_000) + 1);
  if (stickiness !== 'default') return attribute(context, stickiness);
  return attribute(context, 'userId') ?? attribute(context, 'sessionId') ?? String(Math.round(env.random() * 10_000) + 1);
}

function variantKey(stickiness: string, context: FlagContext, env: EvaluationEnv): string {
  const key =
    stickiness === 'default'
      ? (attribute(context, 'userId') ?? attribute(context, 'sessionId') ?? attribute(context, 'remoteAddress'))
      : attribute(context, stickiness);
  return key ?? String(Math.round(env.random() * 100_000));
}

function pick(groupId: string, stickiness: string, variants: FlagVariantDefinition[], context: FlagContext, env: EvaluationEnv) {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  if (total <= 0) return undefined;
  const target = bucket(groupId, variantKey(stickiness, context, env), total, VARIANT_SEED);
  let counter = 0;
  for (const v of variants) {
    if (v.weight === 0) continue;
    counter += v.weight;
    if (counter >= target) return v;
  }
  return undefined;
}

function asVariant(v: FlagVariantDefinition): FlagVariant {
  return v.payload === undefined
    ? { name: v.name, enabled: true, featureEnabled: true }
    : { name: v.name, enabled: true, featureEnabled: true, payload: v.payload };
}

function ruleMatches(name: string, rule: FlagRule, context: FlagContext, env: EvaluationEnv): boolean {
  const now = rule.when?.some((c) => c.operator.startsWith('DATE_')) ? env.now() : 0;
  if (rule.when?.some((c) => !conditionHolds(c, context, now))) return false;
  if (rule.rollout === undefined) return true;
  const key = rolloutKey(rule.stickiness ?? 'default', context, env);
  return key !== undefined && rule.rollout > 0 && bucket(rule.groupId ?? name, key) <= rule.rollout;
}

function dependenciesMet(flag: FlagDefinition, context: FlagContext, env: EvaluationEnv): boolean {
  return (flag.dependsOn ?? []).every((dep) => {
    const parent = env.get(dep.flag);
    // one level only, as Unleash: a parent with parents of its own (a cycle included) never satisfies
    if (parent === undefined || (parent.dependsOn?.length ?? 0) > 0) return false;
    const result = evaluate(dep.flag, parent, context, env);
    if (dep.enabled === false) return !result.enabled;
    if (dep.variants?.length) return result.enabled && dep.variants.includes(result.variant.name);
    return result.enabled;
  });
}

/** Evaluates `flag` (named `name`) for `context`. Pure but for `env`: no I/O. */
export function evaluate(name: string, flag: FlagDefinition, context: FlagContext, env: EvaluationEnv): FlagEvaluation {
  if (!flag.enabled) return off('killed', 'DISABLED');
  if (flag.minLevel !== undefined && !levelAtLeast(env.level(), flag.minLevel)) return off('level', 'DISABLED');
  if (!dependenciesMet(flag, context, env)) return off('dependency', 'DEFAULT');
  const rules = flag.rules ?? [];
  const rule = rules.length === 0 ? undefined : rules.find((r) => ruleMatches(name, r, context, env));
  if (rules.length > 0 && rule === undefined) return off('rules', 'DEFAULT');
  let reason: FlagReason = rule === undefined || !rule.when?.length ? 'STATIC' : 'TARGETING_MATCH';
  if (rule?.rollout !== undefined && rule.rollout < 100) reason = 'SPLIT';
  if (rule?.variants?.length) {
    const stickiness = rule.variants[0]?.stickiness ?? rule.stickiness ?? 'default';
    const chosen = pick(rule.groupId ?? name, stickiness, rule.variants, context, env);
    if (chosen !== undefined) return { enabled: true, variant: asVariant(chosen), reason: rule.variants.length > 1 ? 'SPLIT' : reason };
  }
  const variants = flag.variants ?? [];
  if (variants.length === 0) return { enabled: true, variant: disabled(true), reason };
  const override = variants.find((v) =>
    v.overrides?.some((o) => {
      const value = attribute(context, o.attribute);
      return value !== undefined && o.values.includes(value);
    }),
  );
  if (override !== undefined) return { enabled: true, variant: asVariant(override), reason: 'TARGETING_MATCH' };
  const chosen = pick(name, variants[0]?.stickiness ?? 'default', variants, context, env);
  if (chosen === undefined) return { enabled: true, variant: disabled(true), reason };
  return { enabled: true, variant: asVariant(chosen), reason: variants.length > 1 ? 'SPLIT' : reason };
}
