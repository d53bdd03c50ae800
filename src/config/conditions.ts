/**
 * Gatus-style conditions: parsed once at load into a small AST, evaluated per run without eval.
 * Grammar: `operand op value`, where op is one of `== != < <= > >=`; operands are placeholders
 * (`[STATUS]`, `[RESPONSE_TIME]`, `[BODY]` with `.key` / `[0]` path, `[CERTIFICATE_EXPIRATION]`,
 * `[CONNECTED]`, `[IP]`, `[DNS_RCODE]`), `len(…)`, `has(…)`, or values; the right side may also be
 * `any(a, b)` or `pat(*text*)`. `[CONNECTED]`, `has(…)` and `any([STATUS], 200, 201)` stand alone.
 */
export {
  type AnyOperand,
  type Condition,
  ConditionSyntaxError,
  type FunctionOperand,
  type LiteralOperand,
  type Operand,
  type Operator,
  type PatternOperand,
  PLACEHOLDERS,
  type Placeholder,
  type PlaceholderOperand,
} from './condition-ast.js';
export { type ConditionContext, type ConditionsResult, evaluateConditions } from './condition-eval.js';
export { parseCondition } from './condition-parse.js';
