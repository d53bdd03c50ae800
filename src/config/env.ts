import { formatPath, type PathSegment, type Problem } from './problems.js';

/** Variables to resolve `${NAME}` against; `process.env` fits. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What {@link interpolateEnv} produced. */
export interface Interpolated {
  /** The tree with every reference replaced; a value whose variable is unset becomes undefined. */
  value: unknown;
  /** Unset variables and malformed references, each at the path of its value. */
  problems: Problem[];
  /** Paths (as {@link formatPath} renders them) whose value came, even partly, from a variable. */
  paths: Set<string>;
  /** The values substituted, so callers can scrub them from any message. */
  secrets: Set<string>;
}

// `$${` escapes a literal `${`; otherwise `${NAME}` or `${NAME:-default}` (default may be empty).
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value of an already parsed tree (so a
 * variable can never inject YAML structure), against `env`. `:-` uses the default when the variable
 * is unset or empty, as in a shell. Keys are not interpolated. Messages name variables, never values.
 */
export function interpolateEnv(tree: unknown, env: Env = process.env): Interpolated {
  const out: Interpolated = { value: undefined, problems: [], paths: new Set(), secrets: new Set() };
  out.value = walk(tree, [], env, out);
  return out;
}

function walk(node: unknown, path: PathSegment[], env: Env, out: Interpolated): unknown {
  if (typeof node === 'string') return node.includes('$') ? substitute(node, path, env, out) : node;
  if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i], env, out));
  if (node !== null && typeof node === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) copy[key] = walk(value, [...path, key], env, out);
    return copy;
  }
  return node;
}

function substitute(text: string, path: PathSegment[], env: Env, out: Interpolated): string | undefined {
  const where = formatPath(path);
  let failed = false;
  let used = false;
  const result = text.replace(REFERENCE, (match, body: string | undefined) => {
    if (match === '$${') return '${';
    used = true;
    const separator = body === undefined ? -1 : body.indexOf(':-');
    const name = body === undefined ? '' : separator === -1 ? body : body.slice(0, separator);
    if (body === undefined || !NAME.test(name)) {
      failed = true;
      const shown = body === undefined || body.length > 40 ? 'an unterminated ${' : `\${${name}}`;
      out.problems.push({
        path: where,
        message: `malformed environment reference ${shown}; write \${NAME} or \${NAME:-default}, or $\${ for a literal`,
      });
      return '';
    }
    const value = env[name];
    if (separator !== -1 && (value === undefined || value === '')) return body?.slice(separator + 2) ?? '';
    if (value === undefined) {
      failed = true;
      out.problems.push({ path: where, message: `environment variable ${name} is not set` });
      return '';
    }
    if (value !== '') out.secrets.add(value);
    return value;
  });
  if (used) out.paths.add(where);
  return failed ? undefined : result;
}
