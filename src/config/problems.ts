/** One thing wrong with a config file: where (`components[1].check.url`) and what. */
export interface Problem {
  /** Where, as `components[1].check.url`; the file name for the whole file or a YAML syntax error (`nines.yaml:3:5`). */
  path: string;
  /** What is wrong; never contains the value of an environment variable. */
  message: string;
}

/** A key or index on the way to a value. */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** Renders `['components', 1, 'check', 'url']` as `components[1].check.url`; odd keys as `headers["x y"]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of segments) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

/** One line per problem: `path: message`. */
export function formatProblems(problems: readonly Problem[]): string[] {
  return problems.map(({ path, message }) => `${path}: ${message}`);
}
