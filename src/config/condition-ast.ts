import { NinesError } from '../core/errors.js';
/** A value a check run can provide to a condition. */
export type Placeholder = 'STATUS' | 'RESPONSE_TIME' | 'BODY' | 'CERTIFICATE_EXPIRATION' | 'CONNECTED' | 'IP' | 'DNS_RCODE';

/** Every placeholder, in the order the docs list them. */
export const PLACEHOLDERS: readonly Placeholder[] = [
  'STATUS',
  'RESPONSE_TIME',
  'BODY',
  'CERTIFICATE_EXPIRATION',
  'CONNECTED',
  'IP',
  'DNS_RCODE',
];

/** A comparison operator. */
export type Operator = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** `[NAME]`, for `[BODY]` with a JSONPath-like path (`.a.b[0]`). */
export interface PlaceholderOperand {
  kind: 'placeholder';
  name: Placeholder;
  /** Keys and indexes after `[BODY]`; empty for the whole value. */
  path: (string | number)[];
  /** Offset just past the operand in the condition text, where its actual value is shown. */
  end: number;
}

/** `len(x)` (length of a string or array, keys of an object) or `has(x)` (whether the path exists). */
export interface FunctionOperand {
  kind: 'len' | 'has';
  arg: PlaceholderOperand;
  /** Offset just past the closing parenthesis. */
  end: number;
}

/** A constant: raw text, or quoted text; `ms` when it faces a duration placeholder. */
export interface LiteralOperand {
  kind: 'literal';
  value: string;
  /** The value in ms when compared with `[RESPONSE_TIME]` or `[CERTIFICATE_EXPIRATION]`. */
  ms?: number;
  /** Offset where it begins (its opening quote, if quoted), for error columns. */
  start: number;
  end: number;
}

/** `any(a, b, …)` on the right of `==`/`!=`: equal to one of the values. */
export interface AnyOperand {
  kind: 'any';
  values: LiteralOperand[];
  end: number;
}

/** `pat(*text*)` on the right of `==`/`!=`: the whole value matches, `*` standing for any run of characters. */
export interface PatternOperand {
  kind: 'pat';
  pattern: string;
  end: number;
}

/** Any operand. */
export type Operand = PlaceholderOperand | FunctionOperand | LiteralOperand | AnyOperand | PatternOperand;

/** A parsed condition; standalone forms (`[CONNECTED]`, `has(…)`, `any([STATUS], …)`) are normalised to comparisons. */
export interface Condition {
  /** The condition as written. */
  text: string;
  left: Operand;
  operator: Operator;
  right: Operand;
}

/** A condition that does not parse; `column` is 1-based. */
export class ConditionSyntaxError extends NinesError {
  /** 1-based column where the problem was found. */
  readonly column: number;

  constructor(message: string, column: number) {
    super('NINES_CONDITION_SYNTAX', `${message} at column ${column}`);
    this.column = column;
  }
}
