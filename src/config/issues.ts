import type { z } from 'zod';
import { formatPath, type Problem } from './problems.js';

/** Turns zod issues into problems, in words that name no input value (values may be secrets). */
export class IssueReader {
  // unrecognized_keys issues do not carry the allowed keys; the error map sees the schema, so note them by input object.
  readonly #allowed = new WeakMap<object, string[]>();

  /** Per-parse error map: short messages without the input. */
  readonly errorMap = (issue: z.core.$ZodRawIssue): string | undefined => {
    switch (issue.code) {
      case 'invalid_type':
        return issue.input === undefined ? 'required' : `expected ${article(issue.expected)}, got ${kindOf(issue.input)}`;
      case 'too_small':
        return bound('at least', 'more than', issue.origin, issue.minimum, issue.inclusive);
      case 'too_big':
        return bound('at most', 'less than', issue.origin, issue.maximum, issue.inclusive);
      case 'invalid_value':
        return issue.values.length > 2
          ? `expected one of ${issue.values.map(String).join(', ')}`
          : `expected ${issue.values.map((value) => JSON.stringify(value)).join(' or ')}`;
      case 'unrecognized_keys': {
        const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
        if (shape && typeof issue.input === 'object' && issue.input !== null) this.#allowed.set(issue.input, Object.keys(shape));
        return undefined;
      }
      case 'invalid_key': // a record's key (a flag's name): say what the key must be
        return issue.issues[0]?.message === undefined ? undefined : `name ${issue.issues[0].message}`;
      default:
        return undefined;
    }
  };

  /** One problem per issue; an unknown key is reported at its own path, with the nearest allowed key. */
  problems(issues: readonly z.core.$ZodIssue[], input: unknown, file: string): Problem[] {
    const problems: Problem[] = [];
    for (const issue of issues) {
      if (issue.code !== 'unrecognized_keys') {
        problems.push({ path: formatPath(issue.path) || file, message: issue.message });
        continue;
      }
      const allowed = this.#allowed.get(at(input, issue.path) as object) ?? [];
      for (const key of issue.keys) {
        const near = nearest(key, allowed);
        const hint = near ? `; did you mean ${near}?` : allowed.length > 0 ? `; expected one of ${allowed.join(', ')}` : '';
        problems.push({ path: formatPath([...issue.path, key]), message: `unknown key${hint}` });
      }
    }
    return problems;
  }
}

function at(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node = tree;
  for (const key of path) node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  return node;
}

function article(expected: string): string {
  // YAML words: a user wrote a mapping or a list, not an object or an array
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  if (expected === 'int') return 'an integer';
  return /^[aeio]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fraction';
  return article(typeof value);
}

function bound(inclusiveWord: string, exclusiveWord: string, origin: string, limit: number | bigint, inclusive = true): string {
  const word = inclusive ? inclusiveWord : exclusiveWord;
  if (origin === 'array' || origin === 'set')
    return Number(limit) === 1 && inclusiveWord === 'at least' ? 'must not be empty' : `must have ${word} ${limit} items`;
  if (origin === 'string') return `must be ${word} ${limit} characters long`;
  return `must be ${word} ${limit}`;
}

/** The allowed key within two edits of `key`, to suggest for a typo. */
function nearest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const distance = levenshtein(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
