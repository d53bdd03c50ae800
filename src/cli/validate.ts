import { formatProblems, loadConfig, type NinesConfig } from '../config/index.js';

/** Where `nines` looks for its config when `--config` is not given. */
export const DEFAULT_CONFIG_PATH = './nines.yaml';

/** Exit code of a config with problems (1 is left to crashes). */
export const EXIT_INVALID = 2;

/** Where a command writes; the process streams by default, strings in tests. */
export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** The process's stdout and stderr, one line per call. */
export const processOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Loads the config, or prints every problem as `path: message` and returns undefined (the caller exits {@link EXIT_INVALID}). */
export async function loadOrReport(path: string, output: Output, env: NodeJS.ProcessEnv): Promise<NinesConfig | undefined> {
  const loaded = await loadConfig(path, { env });
  if (loaded.ok) return loaded.config;
  for (const line of formatProblems(loaded.problems)) output.err(line);
  return undefined;
}

/** `nines validate`: loads the config, prints a summary or every problem, and returns the exit code. Starts nothing. */
export async function validate(path: string, output: Output = processOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = await loadOrReport(path, output, env);
  if (config === undefined) return EXIT_INVALID;
  const { components, slos } = config;
  output.out(`config OK: ${plural(components.length, 'component')}, ${plural(slos.length, 'SLO')}`);
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
