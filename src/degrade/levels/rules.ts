import { InvalidOptionError } from '../../core/errors.js';
import { checkString } from '../../core/validate.js';
import type { HealthStatus } from '../../health/types.js';
import type { CircuitState } from '../../policy/circuit-breaker.js';
import { type DegradationLevel, levelRank } from './levels.js';

/** Matches while the check `check` has one of `status`; without `check`, the health registry's overall status. */
export interface HealthCondition {
  /** A check registered with the health registry. Default: the overall status. */
  check?: string;
  /** Status or statuses that match. */
  status: HealthStatus | readonly HealthStatus[];
}

/** Matches while the circuit breaker `breaker` is in one of `state`. */
export interface BreakerCondition {
  /** A breaker of the manager's `breakers`. */
  breaker: string;
  /** State or states that match. */
  state: CircuitState | readonly CircuitState[];
}

/** "While `when` holds, the service runs at `level` or worse"; of all matching rules the worst level wins. */
export interface DegradationRule {
  /** Names the rule in metrics and audit records; unique. Default `check:<check>:<status>`, `health:<status>` or `breaker:<breaker>:<state>`. */
  name?: string;
  /** The condition over the health registry or a breaker. */
  when: HealthCondition | BreakerCondition;
  /** The level while the condition holds. */
  level: Exclude<DegradationLevel, 'full'>;
  /** The level's reason while this rule sets it. Default e.g. `check redis is unhealthy`. */
  reason?: string;
}

/** A validated rule. */
export interface CompiledRule {
  readonly name: string;
  readonly level: DegradationLevel;
  readonly rank: number;
  readonly reason: string | undefined;
  readonly kind: 'check' | 'health' | 'breaker';
  /** The check's or breaker's name; undefined for the overall status. */
  readonly target: string | undefined;
  readonly values: ReadonlySet<string>;
}

/** What rules are matched against, read when the manager re-evaluates. */
export interface RuleInputs {
  /** The latest status of check `name`; undefined when no such check is registered. */
  check(name: string): HealthStatus | undefined;
  /** The registry's overall status; undefined without a registry. */
  overall(): HealthStatus | undefined;
  /** The current state of breaker `name`. */
  breaker(name: string): CircuitState;
}

/** The rule that sets the level and the status or state it matched. */
export interface RuleMatch {
  rule: CompiledRule;
  value: string;
}

/** Reasons in metrics that are not rule names. */
export const RESERVED = new Set(['none', 'manual']);

const STATUSES: readonly HealthStatus[] = ['healthy', 'degraded', 'unhealthy', 'unknown'];
const STATES: readonly CircuitState[] = ['closed', 'open', 'half-open', 'isolated'];

/** Validates `rules`, naming the bad field (`rules[1].when.state …`). */
export function compileRules(rules: readonly DegradationRule[]): CompiledRule[] {
  if (!Array.isArray(rules)) throw new InvalidOptionError('rules must be an array');
  const names = new Set<string>();
  return rules.map((rule: DegradationRule, i) => {
    const at = `rules[${i}]`;
    if (typeof rule !== 'object' || rule === null) throw new InvalidOptionError(`${at} must be an object`);
    const rank = levelRank(`${at}.level`, rule.level);
    if (rank === 0) throw new InvalidOptionError(`${at}.level must be worse than full: no rule is needed to run at full`);
    const compiled = compileCondition(`${at}.when`, rule.when);
    const name = rule.name === undefined ? defaultName(compiled) : checkString(`${at}.name`, rule.name);
    if (RESERVED.has(name))
      throw new InvalidOptionError(`${at}.name "${name}" is reserved (metrics use it for no rule and for an override)`);
    if (names.has(name)) throw new InvalidOptionError(`${at}.name "${name}" is already used by another rule`);
    names.add(name);
    const reason = rule.reason === undefined ? undefined : checkString(`${at}.reason`, rule.reason);
    return { ...compiled, name, level: rule.level, rank, reason };
  });
}

/** The worst matching rule (the first of equals), or undefined when none matches. */
export function worstMatch(rules: readonly CompiledRule[], inputs: RuleInputs): RuleMatch | undefined {
  let best: RuleMatch | undefined;
  for (const rule of rules) {
    if (best !== undefined && rule.rank <= best.rule.rank) continue;
    const value =
      rule.kind === 'breaker'
        ? inputs.breaker(rule.target as string)
        : rule.kind === 'check'
          ? inputs.check(rule.target as string)
          : inputs.overall();
    if (value !== undefined && rule.values.has(value)) best = { rule, value };
  }
  return best;
}

/** The reason a match gives: the rule's own, or what matched. */
export function matchReason({ rule, value }: RuleMatch): string {
  if (rule.reason !== undefined) return rule.reason;
  if (rule.kind === 'health') return `health is ${value}`;
  return `${rule.kind} ${rule.target} is ${value}`;
}

type Condition = Pick<CompiledRule, 'kind' | 'target' | 'values'>;

function compileCondition(at: string, when: unknown): Condition {
  if (typeof when !== 'object' || when === null) throw new InvalidOptionError(`${at} must be an object`);
  const w = when as Partial<HealthCondition & BreakerCondition>;
  if (w.breaker !== undefined) {
    if (w.check !== undefined || w.status !== undefined) throw new InvalidOptionError(`${at} must name a breaker or a check, not both`);
    return { kind: 'breaker', target: checkString(`${at}.breaker`, w.breaker), values: oneOrMore(`${at}.state`, w.state, STATES) };
  }
  if (w.state !== undefined) throw new InvalidOptionError(`${at}.state needs a breaker`);
  const values = oneOrMore(`${at}.status`, w.status, STATUSES);
  if (w.check === undefined) return { kind: 'health', target: undefined, values };
  return { kind: 'check', target: checkString(`${at}.check`, w.check), values };
}

function oneOrMore(at: string, value: unknown, allowed: readonly string[]): ReadonlySet<string> {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => !allowed.includes(v))) {
    throw new InvalidOptionError(`${at} must be one or more of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return new Set(list);
}

function defaultName(c: Condition): string {
  const values = [...c.values].join('|');
  return c.kind === 'health' ? `health:${values}` : `${c.kind}:${c.target}:${values}`;
}
