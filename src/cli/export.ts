import { writeFile } from 'node:fs/promises';
import { prometheusRulesYaml } from '../alerts/prometheus-rules.js';
import { EXIT_INVALID, loadOrReport, type Output, processOutput } from './validate.js';

/** Options of `nines export`. */
export interface ExportOptions {
  /** Config file to load. */
  config: string;
  /** File to write; default stdout. */
  output?: string;
}

/** What `nines export` can write, by name. */
export const EXPORTS = { 'prometheus-rules': prometheusRulesYaml } as const;

/** One of {@link EXPORTS}. */
export type ExportKind = keyof typeof EXPORTS;

/** `nines export <kind>`: writes a file generated from the config (Prometheus rules); exit 2 on a bad config or kind. */
export async function exportFile(
  kind: string,
  options: ExportOptions,
  output: Output = processOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (!Object.hasOwn(EXPORTS, kind)) {
    output.err(`export: unknown kind ${JSON.stringify(kind)}; expected one of ${Object.keys(EXPORTS).join(', ')}`);
    return EXIT_INVALID;
  }
  const config = await loadOrReport(options.config, output, env);
  if (config === undefined) return EXIT_INVALID;
  const text = EXPORTS[kind as ExportKind](config);
  if (options.output === undefined) output.out(text.trimEnd());
  else await writeFile(options.output, text);
  return 0;
}
