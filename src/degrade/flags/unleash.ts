import type { FlagCondition, FlagInput, FlagRule } from './schema.js';
import { FLAG_OPERATORS } from './schema.js';

/** A feature as Unleash's client API (`/api/client/features`) and its exports send it. */
export interface UnleashFeature {
  name: string;
  enabled: boolean;
  description?: string;
  strategies?: Array<{
    name: string;
    parameters?: Record<string, string>;
    constraints?: UnleashConstraint[];
    segments?: number[];
    variants?: UnleashVariant[];
  }>;
  variants?: UnleashVariant[];
  dependencies?: Array<{ feature: string; enabled?: boolean; variants?: string[] }>;
}

/** An Unleash constraint. */
export interface UnleashConstraint {
  contextName: string;
  operator: string;
  values?: string[];
  value?: string;
  inverted?: boolean;
  caseInsensitive?: boolean;
}

/** An Unleash variant. */
export interface UnleashVariant {
  name: string;
  weight: number;
  payload?: { type: string; value: string };
  stickiness?: string;
  overrides?: Array<{ contextName: string; values: string[] }>;
}

/** An Unleash segment: constraints shared by strategies. */
export interface UnleashSegment {
  id: number;
  constraints: UnleashConstraint[];
}

const KNOWN: ReadonlySet<string> = new Set(FLAG_OPERATORS);
const NEVER: FlagRule = { rollout: 0 }; // a rule no key falls in

const split = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

function condition(c: UnleashConstraint): FlagCondition | undefined {
  if (!KNOWN.has(c.operator)) return undefined;
  const operator = c.operator as FlagCondition['operator'];
  const out: FlagCondition =
    operator.includes('IN') || operator.startsWith('STR_')
      ? { attribute: c.contextName, operator, values: c.values ?? [] }
      : { attribute: c.contextName, operator, value: c.value ?? c.values?.[0] ?? '' };
  if (c.inverted) out.inverted = true;
  if (c.caseInsensitive) out.caseInsensitive = true;
  return out;
}

function variants(given: UnleashVariant[] | undefined) {
  return given?.map((v) => ({
    name: v.name,
    weight: v.weight,
    ...(v.payload && { payload: v.payload as { type: 'string'; value: string } }),
    ...(v.stickiness && { stickiness: v.stickiness }),
    ...(v.overrides && { overrides: v.overrides.map((o) => ({ attribute: o.contextName, values: o.values })) }),
  }));
}

function rule(
  feature: UnleashFeature,
  s: NonNullable<UnleashFeature['strategies']>[number],
  segments: Map<number, UnleashSegment>,
): FlagRule {
  const p = s.parameters ?? {};
  const constraints = [...(s.constraints ?? [])];
  for (const id of s.segments ?? []) {
    const segment = segments.get(id);
    if (segment === undefined) return NEVER; // Unleash: a missing segment turns the strategy off
    constraints.push(...segment.constraints);
  }
  const when: FlagCondition[] = [];
  for (const c of constraints) {
    const converted = condition(c);
    if (converted === undefined) return NEVER; // Unleash: an unknown operator never matches
    when.push(converted);
  }
  const out: FlagRule = {};
  switch (s.name) {
    case 'default':
      break;
    case 'userWithId':
      when.push({ attribute: 'userId', operator: 'IN', values: split(p.userIds) });
      break;
    case 'remoteAddress':
      when.push({ attribute: 'remoteAddress', operator: 'IN', values: split(p.IPs) });
      break;
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
      Object.assign(out, {
        rollout: Number(p.percentage),
        stickiness: s.name === 'gradualRolloutUserId' ? 'userId' : 'sessionId',
        groupId: p.groupId ?? '',
      });
      break;
    case 'gradualRolloutRandom':
      Object.assign(out, { rollout: Number(p.percentage), stickiness: 'random' });
      break;
    case 'flexibleRollout':
      Object.assign(out, { rollout: Number(p.rollout), stickiness: p.stickiness || 'default', groupId: p.groupId || feature.name });
      break;
    default:
      return NEVER; // a custom strategy nines does not have
  }
  if (when.length > 0) out.when = when;
  const v = variants(s.variants);
  if (v?.length) out.variants = v;
  return out;
}

/**
 * Unleash features (and their segments) as nines flag definitions, for `FlagSet.replace`: a team
 * moving from Unleash keeps its flags, and the same users in each rollout and variant. Built-in
 * strategies map to rules; a custom strategy, an unknown operator or a missing segment becomes a
 * rule that never matches, as Unleash evaluates them.
 */
export function fromUnleash(features: readonly UnleashFeature[], segments: readonly UnleashSegment[] = []): Record<string, FlagInput> {
  const byId = new Map(segments.map((s) => [s.id, s]));
  const out: Record<string, FlagInput> = {};
  for (const f of features) {
    const flag: FlagInput = { enabled: f.enabled };
    if (f.description !== undefined) flag.description = f.description;
    if (f.strategies?.length) flag.rules = f.strategies.map((s) => rule(f, s, byId));
    const v = variants(f.variants);
    if (v?.length) flag.variants = v;
    if (f.dependencies?.length) {
      flag.dependsOn = f.dependencies.map((d) => ({
        flag: d.feature,
        ...(d.enabled !== undefined && { enabled: d.enabled }),
        ...(d.variants !== undefined && { variants: d.variants }),
      }));
    }
    out[f.name] = flag;
  }
  return out;
}
