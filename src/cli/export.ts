import { writeFile } from 'node:fs/promises';
import { prometheusRulesYaml } from '../alerts/prometheus-rules.js';
import type { NinesConfig } from '../config/index.js';
import { EXIT_INVALID, loadOrReport, type Output, processOutput } from './validate.js';

/** Options of `nines export`. */
export interface ExportOptions {
  /** Config file to load. */
  config: string;
  /** File to write; default stdout. */
  output?: string;
}

/** What `nines export` can write, by name. */
export const EXPORTS: Record<'prometheus-rules' | 'grafana', (config: NinesConfig) => string | Promise<string>> = {
  'prometheus-rules': prometheusRulesYaml,
  // loaded only when asked for: Grafana's SDK is large, and nothing else needs it
  grafana: async (config) => (await import('../alerts/grafana.js')).grafanaDashboardJson(config),
};

/** One of {@link EXPORTS}. */
export type ExportKind = keyof typeof EXPORTS;

/** `nines export <kind>`: writes a file generated from the config (Prometheus rules, a Grafana dashboard); exit 2 on a bad config or kind. */
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
  const text = await EXPORTS[kind as ExportKind](config);
  if (options.output === undefined) output.out(text.trimEnd());
  else await writeFile(options.output, text);
  return 0;
}
