import type { Condition, Operand, PlaceholderOperand } from './condition-ast.js';
import { parseCondition } from './condition-parse.js';
import { formatDuration } from './duration.js';

/** What one check run observed, as the conditions see it. Absent fields make the conditions reading them fail. */
export interface ConditionContext {
  /** HTTP status code: `[STATUS]`. */
  status?: number;
  /** ms the run took: `[RESPONSE_TIME]`. */
  responseTimeMs?: number;
  /** Response body: `[BODY]`, parsed as JSON only when a path (`[BODY].a`) or len()/has() needs it. */
  body?: string;
  /** ms until the TLS certificate expires: `[CERTIFICATE_EXPIRATION]`. */
  certificateExpirationMs?: number;
  /** Whether a connection was made: `[CONNECTED]`. */
  connected?: boolean;
  /** Address connected to or resolved: `[IP]`. */
  ip?: string;
  /** DNS response code such as `NOERROR`: `[DNS_RCODE]`. */
  dnsRcode?: string;
}

/** Outcome of {@link evaluateConditions}. */
export interface ConditionsResult {
  /** True when every condition holds. */
  ok: boolean;
  /** Each failed condition with its actual values, as `[STATUS] (503) == 200`. */
  failed: string[];
}

const MISSING = Symbol('missing');
const NOT_JSON = Symbol('not JSON');
type Value = string | number | boolean | null | object | typeof MISSING | typeof NOT_JSON;
const NUMERIC = /^-?\d+(?:\.\d+)?$/;
const SHOWN = 80;

/** Per-evaluation state: the body is parsed once, and only if a path needs it. */
class Scope {
  #json: Value | undefined;
  readonly context: ConditionContext;

  constructor(context: ConditionContext) {
    this.context = context;
  }

  json(): Value {
    if (this.#json === undefined) {
      const { body } = this.context;
      if (body === undefined) this.#json = MISSING;
      else {
        try {
          this.#json = JSON.parse(body) as Value;
        } catch {
          this.#json = NOT_JSON;
        }
      }
    }
    return this.#json;
  }
}

/**
 * Evaluates conditions (parsed, or text parsed now) against one run's observations, without eval.
 * A condition reading a value the run did not provide fails.
 */
export function evaluateConditions(conditions: readonly (Condition | string)[], context: ConditionContext): ConditionsResult {
  const scope = new Scope(context);
  const failed: string[] = [];
  for (const item of conditions) {
    const condition = typeof item === 'string' ? parseCondition(item) : item;
    if (!holds(condition, scope)) failed.push(render(condition, scope));
  }
  return { ok: failed.length === 0, failed };
}

function holds(condition: Condition, scope: Scope): boolean {
  const { operator, right } = condition;
  const left = resolve(condition.left, scope);
  if (left === MISSING || left === NOT_JSON) return false;
  if (right.kind === 'any') return right.values.some((value) => equal(left, value.ms ?? value.value)) === (operator === '==');
  if (right.kind === 'pat') return wildcard(right.pattern).test(scalar(left)) === (operator === '==');
  const other = resolve(right, scope);
  if (other === MISSING || other === NOT_JSON) return false;
  if (operator === '==') return equal(left, other);
  if (operator === '!=') return !equal(left, other);
  const a = numeric(left);
  const b = numeric(other);
  if (a === undefined || b === undefined) return false;
  return operator === '<' ? a < b : operator === '<=' ? a <= b : operator === '>' ? a > b : a >= b;
}

function resolve(operand: Operand, scope: Scope): Value {
  switch (operand.kind) {
    case 'literal':
      return operand.ms ?? operand.value;
    case 'placeholder':
      return placeholder(operand, scope);
    case 'len': {
      const value = placeholder(operand.arg, scope);
      if (typeof value === 'string' || Array.isArray(value)) return value.length;
      if (value !== null && typeof value === 'object') return Object.keys(value).length;
      return value === NOT_JSON ? NOT_JSON : MISSING;
    }
    case 'has': {
      const value = placeholder(operand.arg, scope);
      return value !== MISSING && value !== NOT_JSON;
    }
    default:
      return MISSING; // any() and pat() are handled by holds()
  }
}

function placeholder(operand: PlaceholderOperand, scope: Scope): Value {
  const { context } = scope;
  switch (operand.name) {
    case 'STATUS':
      return context.status ?? MISSING;
    case 'RESPONSE_TIME':
      return context.responseTimeMs ?? MISSING;
    case 'CERTIFICATE_EXPIRATION':
      return context.certificateExpirationMs ?? MISSING;
    case 'CONNECTED':
      return context.connected ?? MISSING;
    case 'IP':
      return context.ip ?? MISSING;
    case 'DNS_RCODE':
      return context.dnsRcode ?? MISSING;
    case 'BODY': {
      if (operand.path.length === 0) return context.body ?? MISSING;
      let value = scope.json();
      for (const key of operand.path) {
        if (value === MISSING || value === NOT_JSON) return value;
        if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return MISSING;
        value = (value as Record<string | number, Value>)[key] as Value;
      }
      return value;
    }
  }
}

function equal(a: Value, b: Value): boolean {
  const x = numeric(a);
  const y = numeric(b);
  if (x !== undefined && y !== undefined) return x === y;
  return scalar(a) === scalar(b);
}

function numeric(value: Value): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && NUMERIC.test(value)) return Number(value);
  return undefined;
}

function scalar(value: Value): string {
  if (value === MISSING || value === NOT_JSON) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function wildcard(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's');
}

/** The condition text with each placeholder's (or function's) actual value after it: `[STATUS] (503) == 200`. */
function render(condition: Condition, scope: Scope): string {
  const inserts: [number, string][] = [];
  for (const operand of [condition.left, condition.right]) {
    if (operand.kind !== 'placeholder' && operand.kind !== 'len' && operand.kind !== 'has') continue;
    inserts.push([operand.end, ` (${show(resolve(operand, scope), operand)})`]);
  }
  let text = condition.text;
  for (const [at, insert] of inserts.sort((a, b) => b[0] - a[0])) text = text.slice(0, at) + insert + text.slice(at);
  return text.trim();
}

function show(value: Value, operand: Operand): string {
  if (value === MISSING) return 'missing';
  if (value === NOT_JSON) return 'body is not JSON';
  const durationLike = operand.kind === 'placeholder' && (operand.name === 'RESPONSE_TIME' || operand.name === 'CERTIFICATE_EXPIRATION');
  const text = durationLike && typeof value === 'number' ? formatDuration(value) : scalar(value);
  return text.length > SHOWN ? `${text.slice(0, SHOWN)}…` : text;
}
