import { readFile } from 'node:fs/promises';
import { type Document, isCollection, type Node, parseDocument } from 'yaml';
import { crossCheck } from './cross.js';
import { type Env, interpolateEnv } from './env.js';
import { IssueReader } from './issues.js';
import type { Problem } from './problems.js';
import { configSchema, type NinesConfig } from './schema.js';

/** What {@link loadConfig} returns: the config, or every problem found. */
export type LoadResult = { ok: true; config: NinesConfig } | { ok: false; problems: Problem[] };

/** Options of {@link loadConfig} and {@link parseConfig}. */
export interface LoadOptions {
  /** Variables for `${NAME}` references. Default `process.env`. */
  env?: Env;
}

/** Reads and validates a config file; a file that cannot be read is one problem (`<file>: cannot read: ENOENT`). */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return { ok: false, problems: [{ path, message: `cannot read: ${code}` }] };
  }
  return parseConfig(text, { ...options, file: path });
}

/**
 * Validates config text: YAML syntax, then `${NAME}` references, then the schema and the checks that
 * span fields, listing every problem in file order. `file` names the file in problems about it as a whole.
 */
export function parseConfig(text: string, options: LoadOptions & { file?: string } = {}): LoadResult {
  const file = options.file ?? 'config';
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Past a syntax error the tree is a guess; schema problems on it would only add noise.
    return { ok: false, problems: doc.errors.map((error) => yamlProblem(error, file)) };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    return { ok: false, problems: [{ path: file, message: (error as Error).message }] };
  }
  const env = interpolateEnv(raw, options.env ?? process.env);
  const reader = new IssueReader();
  const parsed = configSchema.safeParse(env.value, { error: reader.errorMap });
  const envPaths = new Set(env.problems.map((problem) => problem.path));
  const schemaProblems = parsed.success ? [] : reader.problems(parsed.error.issues, env.value, file);
  const problems = dedupe([
    ...env.problems,
    // an unset variable already explains why its value is missing
    ...schemaProblems.filter((problem) => !envPaths.has(problem.path)),
    ...crossCheck(env.value),
  ]);
  if (problems.length === 0 && parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, problems: scrub(inFileOrder(problems, doc), env.secrets) };
}

function yamlProblem(error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }, file: string): Problem {
  const first = error.message.split('\n')[0] ?? error.message;
  const message = first.replace(/ at line \d+, column \d+:?$/, '');
  const pos = error.linePos?.[0];
  return { path: pos ? `${file}:${pos.line}:${pos.col}` : file, message };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter(({ path, message }) => {
    const key = `${path}\0${message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Sorts problems by where their path starts in the file (the nearest existing ancestor for a missing key). */
function inFileOrder(problems: Problem[], doc: Document): Problem[] {
  const offset = (path: string): number => {
    const segments = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g)].map(([, key, index, quoted]) =>
      index !== undefined ? Number(index) : quoted !== undefined ? (JSON.parse(`"${quoted}"`) as string) : (key ?? ''),
    );
    for (let n = segments.length; n > 0; n--) {
      const node = doc.getIn(segments.slice(0, n), true) as Node | undefined;
      if (node?.range) return node.range[0];
    }
    return isCollection(doc.contents) ? -1 : 0;
  };
  return problems
    .map((problem, index) => ({ problem, index, at: offset(problem.path) }))
    .sort((a, b) => a.at - b.at || a.index - b.index)
    .map(({ problem }) => problem);
}

/** Belt and braces: no message may carry a substituted value, whatever produced it. */
function scrub(problems: Problem[], secrets: Set<string>): Problem[] {
  const values = [...secrets].filter((value) => value.length >= 3).sort((a, b) => b.length - a.length);
  if (values.length === 0) return problems;
  return problems.map(({ path, message }) => ({ path, message: values.reduce((text, value) => text.split(value).join('***'), message) }));
}
