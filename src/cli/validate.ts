import { formatProblems, loadConfig } from '../config/index.js';

/** Where `nines` looks for its config when `--config` is not given. */
export const DEFAULT_CONFIG_PATH = './nines.yaml';

/** Exit code of a config with problems (1 is left to crashes). */
export const EXIT_INVALID = 2;

/** Where a command writes; the process streams by default, strings in tests. */
export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** `nines validate`: loads the config, prints a summary or every problem, and returns the exit code. Starts nothing. */
export async function validate(path: string, output: Output = processOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const result = await loadConfig(path, { env });
  if (!result.ok) {
    for (const line of formatProblems(result.problems)) output.err(line);
    return EXIT_INVALID;
  }
  const { components, slos } = result.config;
  output.out(`config OK: ${plural(components.length, 'component')}, ${plural(slos.length, 'SLO')}`);
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
