import {
  type Condition,
  ConditionSyntaxError,
  type LiteralOperand,
  type Operand,
  type Operator,
  PLACEHOLDERS,
  type Placeholder,
  type PlaceholderOperand,
} from './condition-ast.js';
import { parseDuration } from './duration.js';

const OPERATORS: readonly Operator[] = ['==', '!=', '<=', '>=', '<', '>']; // two-character ones first
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const KEY = /[A-Za-z0-9_$-]/;

/** What a literal facing a placeholder must look like. */
type Expect = 'number' | 'duration' | 'boolean' | 'rcode' | 'any';

const EXPECT: Record<Placeholder, Expect> = {
  STATUS: 'number',
  RESPONSE_TIME: 'duration',
  BODY: 'any',
  CERTIFICATE_EXPIRATION: 'duration',
  CONNECTED: 'boolean',
  IP: 'any',
  DNS_RCODE: 'rcode',
};

/**
 * Parses a Gatus-style condition such as `[STATUS] == 200`, `[BODY].items[0].state == UP`,
 * `len([BODY].items) > 0`, `any([STATUS], 200, 201)` or `[BODY] == pat(*ok*)`. Throws a
 * {@link ConditionSyntaxError} naming the 1-based column of the first problem.
 */
export function parseCondition(text: string): Condition {
  return new Parser(text).condition();
}

class Parser {
  #i = 0;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
  }

  condition(): Condition {
    const text = this.#text;
    this.#ws();
    if (this.#i >= text.length) this.#fail('empty condition');
    const left = this.#left();
    this.#ws();
    if (this.#i >= text.length) return this.#standalone(left);
    if (left.kind === 'any') this.#fail('any(…) is a whole condition, or the right side of == or !=', 0);
    const at = this.#i;
    const operator = OPERATORS.find((op) => text.startsWith(op, at));
    if (!operator) this.#fail('expected an operator (==, !=, <, <=, >, >=)');
    this.#i += operator.length;
    this.#ws();
    if (this.#i >= text.length) this.#fail(`expected a value after ${operator}`);
    const right = this.#right();
    this.#ws();
    if (this.#i < text.length) this.#fail('unexpected text');
    const condition: Condition = { text, left, operator, right };
    this.#typecheck(condition, at);
    return condition;
  }

  /** `[CONNECTED]`, `has(…)` and `any([X], …)` stand alone; anything else needs an operator. */
  #standalone(left: Operand | { kind: 'any'; values: (LiteralOperand | PlaceholderOperand)[]; end: number }): Condition {
    const text = this.#text;
    const truth: LiteralOperand = { kind: 'literal', value: 'true', start: text.length, end: text.length };
    if (left.kind === 'has' || (left.kind === 'placeholder' && left.name === 'CONNECTED'))
      return { text, left, operator: '==', right: truth };
    if (left.kind === 'any') {
      const [subject, ...values] = left.values;
      if (subject?.kind !== 'placeholder')
        this.#fail('any(…) needs a placeholder first, as in any([STATUS], 200, 201)', text.indexOf('(') + 1);
      if (values.length === 0) this.#fail('any(…) needs at least one value after the placeholder', left.end - 1);
      const literals = values.map((value) =>
        value.kind === 'literal' ? value : this.#fail('any(…) takes one placeholder, then values', value.end),
      );
      const condition: Condition = { text, left: subject, operator: '==', right: { kind: 'any', values: literals, end: left.end } };
      this.#typecheck(condition, 0);
      return condition;
    }
    return this.#fail('expected an operator (==, !=, <, <=, >, >=)');
  }

  #left(): Operand | { kind: 'any'; values: (LiteralOperand | PlaceholderOperand)[]; end: number } {
    const text = this.#text;
    if (text[this.#i] === '[') return this.#placeholder();
    const name = /^([a-z]+)\(/.exec(text.slice(this.#i))?.[1];
    if (name === 'len' || name === 'has') return this.#lenOrHas(name);
    if (name === 'any') return this.#any(true);
    if (name !== undefined) this.#fail(`unknown function ${name}(); expected len, has, any or pat`);
    if (text[this.#i] === '"') return this.#quoted();
    const start = this.#i;
    while (this.#i < text.length && !/[\s=!<>]/.test(text[this.#i] ?? '')) this.#i++;
    return { kind: 'literal', value: text.slice(start, this.#i), start, end: this.#i };
  }

  #right(): Operand {
    const text = this.#text;
    if (text[this.#i] === '[') return this.#placeholder();
    const name = /^([a-z]+)\(/.exec(text.slice(this.#i))?.[1];
    if (name === 'len' || name === 'has') return this.#lenOrHas(name);
    if (name === 'any') {
      const any = this.#any(false);
      return { kind: 'any', values: any.values as LiteralOperand[], end: any.end };
    }
    if (name === 'pat') {
      this.#i += 4;
      const pattern = text[this.#i] === '"' ? this.#quoted().value : this.#rawUntil(')');
      this.#expect(')');
      return { kind: 'pat', pattern, end: this.#i };
    }
    if (name !== undefined) this.#fail(`unknown function ${name}(); expected len, has, any or pat`);
    if (text[this.#i] === '"') return this.#quoted();
    const start = this.#i;
    const value = text.slice(start).trimEnd();
    this.#i = text.length;
    return { kind: 'literal', value, start, end: start + value.length };
  }

  #placeholder(): PlaceholderOperand {
    const text = this.#text;
    const start = this.#i;
    const close = text.indexOf(']', start);
    const name = close === -1 ? '' : text.slice(start + 1, close);
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      this.#fail(
        `unknown placeholder ${close === -1 ? '[' : `[${name}]`}; expected one of ${PLACEHOLDERS.map((p) => `[${p}]`).join(', ')}`,
        start,
      );
    }
    this.#i = close + 1;
    const path: (string | number)[] = [];
    while (text[this.#i] === '.' || (text[this.#i] === '[' && name === 'BODY')) {
      if (name !== 'BODY') this.#fail(`only [BODY] takes a path, not [${name}]`);
      if (text[this.#i] === '.') {
        const keyStart = ++this.#i;
        while (KEY.test(text[this.#i] ?? '')) this.#i++;
        if (this.#i === keyStart) this.#fail('expected a key after .');
        path.push(text.slice(keyStart, this.#i));
      } else {
        const index = /^\[(\d+)\]/.exec(text.slice(this.#i));
        if (!index?.[1]) this.#fail('expected an array index like [0]');
        path.push(Number(index[1]));
        this.#i += index[0].length;
      }
    }
    return { kind: 'placeholder', name: name as Placeholder, path, end: this.#i };
  }

  #lenOrHas(kind: 'len' | 'has'): Operand {
    this.#i += kind.length + 1;
    this.#ws();
    if (this.#text[this.#i] !== '[') this.#fail(`${kind}() takes a placeholder such as [BODY].items`);
    const arg = this.#placeholder();
    this.#ws();
    this.#expect(')');
    return { kind, arg, end: this.#i };
  }

  #any(allowPlaceholder: boolean): { kind: 'any'; values: (LiteralOperand | PlaceholderOperand)[]; end: number } {
    this.#i += 4;
    const values: (LiteralOperand | PlaceholderOperand)[] = [];
    for (;;) {
      this.#ws();
      const c = this.#text[this.#i];
      if (c === '[' && allowPlaceholder && values.length === 0) values.push(this.#placeholder());
      else if (c === '"') values.push(this.#quoted());
      else {
        const start = this.#i;
        const value = this.#rawUntil(',)').trim();
        if (value === '') this.#fail('expected a value', start);
        values.push({ kind: 'literal', value, start, end: start + value.length });
      }
      this.#ws();
      if (this.#text[this.#i] === ',') this.#i++;
      else break;
    }
    this.#expect(')');
    return { kind: 'any', values, end: this.#i };
  }

  #quoted(): LiteralOperand {
    const text = this.#text;
    const start = this.#i++;
    let value = '';
    while (this.#i < text.length && text[this.#i] !== '"') {
      if (text[this.#i] === '\\' && this.#i + 1 < text.length) this.#i++;
      value += text[this.#i++];
    }
    if (this.#i >= text.length) this.#fail('unterminated quoted value', start);
    this.#i++;
    return { kind: 'literal', value, start, end: this.#i };
  }

  #rawUntil(stops: string): string {
    const start = this.#i;
    while (this.#i < this.#text.length && !stops.includes(this.#text[this.#i] ?? '')) this.#i++;
    return this.#text.slice(start, this.#i);
  }

  #expect(char: string): void {
    if (this.#text[this.#i] !== char) this.#fail(`expected ${char}`);
    this.#i++;
  }

  #ws(): void {
    while (/\s/.test(this.#text[this.#i] ?? '')) this.#i++;
  }

  #fail(message: string, at = this.#i): never {
    throw new ConditionSyntaxError(message, at + 1);
  }

  /** Checks literals against the placeholder they face, turning durations into ms. */
  #typecheck(condition: Condition, operatorAt: number): void {
    const { left, right, operator } = condition;
    const ordering = operator !== '==' && operator !== '!=';
    if (ordering && (right.kind === 'any' || right.kind === 'pat')) this.#fail(`${right.kind}(…) works only with == and !=`, operatorAt);
    for (const [subject, other] of [
      [left, right],
      [right, left],
    ] as const) {
      const expect: Expect =
        subject.kind === 'len'
          ? 'number'
          : subject.kind === 'has'
            ? 'boolean'
            : subject.kind === 'placeholder'
              ? EXPECT[subject.name]
              : 'any';
      if (subject.kind === 'literal' || subject.kind === 'any' || subject.kind === 'pat') continue;
      if (ordering && (expect === 'boolean' || expect === 'rcode' || (subject.kind === 'placeholder' && subject.name === 'IP'))) {
        this.#fail(`${operator} needs numbers; ${describe(subject)} is not one`, operatorAt);
      }
      const literals = other.kind === 'literal' ? [other] : other.kind === 'any' ? other.values : [];
      for (const literal of literals) this.#checkLiteral(literal, ordering && expect === 'any' ? 'number' : expect, subject);
    }
  }

  #checkLiteral(literal: LiteralOperand, expect: Expect, subject: Operand): void {
    const { value, start: at } = literal;
    if (expect === 'number' && !NUMBER.test(value)) this.#fail(`expected a number to compare with ${describe(subject)}`, at);
    if (expect === 'boolean' && value !== 'true' && value !== 'false')
      this.#fail(`expected true or false to compare with ${describe(subject)}`, at);
    if (expect === 'rcode' && !RCODES.includes(value)) this.#fail(`expected a DNS rcode (${RCODES.join(', ')})`, at);
    if (expect === 'duration') {
      try {
        literal.ms = NUMBER.test(value) ? Number(value) : parseDuration(value);
      } catch {
        this.#fail(`expected a duration like 300ms or 7d to compare with ${describe(subject)}`, at);
      }
    }
  }
}

function describe(operand: Operand): string {
  if (operand.kind === 'placeholder') return `[${operand.name}]`;
  if (operand.kind === 'len' || operand.kind === 'has') return `${operand.kind}()`;
  return 'a value';
}
