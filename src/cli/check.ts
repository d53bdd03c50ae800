import { styleText } from 'node:util';
import type { ComponentConfig } from '../config/index.js';
import { createProbe, type ProbeResult } from '../monitor/probe.js';
import { EXIT_INVALID, loadOrReport, type Output, processOutput } from './validate.js';

/** Options of `nines check`. */
export interface CheckCommandOptions {
  /** Config file to load. */
  config: string;
  /** Print JSON instead of a table. */
  json?: boolean;
  /** Add each result's details to the table. */
  verbose?: boolean;
  /** Colour the status column. Default: when stdout is a terminal (NO_COLOR and FORCE_COLOR are honoured). */
  color?: boolean;
}

/** Overall status of a `nines check` run. */
export type CheckRunStatus = 'healthy' | 'degraded' | 'unhealthy';

/** Exit code of each overall status; a bad config also exits {@link EXIT_INVALID}. */
export const EXIT_CODES: Record<CheckRunStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/**
 * `nines check`: runs every component's check once, in parallel, prints the results and returns the
 * exit code: 0 all healthy, 1 any degraded, 2 any unhealthy (critical or not) or a bad config.
 */
export async function check(
  options: CheckCommandOptions,
  output: Output = processOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const config = await loadOrReport(options.config, output, env);
  if (config === undefined) return EXIT_INVALID;
  const { components } = config;
  const results = await Promise.all(components.map((component) => createProbe(component)()));
  const status = overall(results);
  if (options.json) {
    const critical = new Map(components.map((c) => [c.name, c.critical]));
    output.out(JSON.stringify({ status, components: results.map((r) => ({ ...r, critical: critical.get(r.name) })) }, null, 2));
  } else {
    for (const line of table(components, results, options.verbose ?? false, options.color ?? process.stdout.isTTY === true))
      output.out(line);
  }
  return EXIT_CODES[status];
}

/** The worst status of `results`: a check command asks "is everything up?", so criticality does not soften it. */
export function overall(results: readonly ProbeResult[]): CheckRunStatus {
  if (results.some((r) => r.status === 'unhealthy')) return 'unhealthy';
  return results.some((r) => r.status === 'degraded') ? 'degraded' : 'healthy';
}

const COLOURS = { healthy: 'green', degraded: 'yellow', unhealthy: 'red' } as const;

/** Aligned rows of component, status, latency and error; details under each row when `verbose`. */
function table(components: readonly ComponentConfig[], results: readonly ProbeResult[], verbose: boolean, color: boolean): string[] {
  const rows = results.map((r, i) => [
    components[i]?.critical ? `${r.name} *` : r.name,
    r.status,
    `${Math.round(r.durationMs)} ms`,
    r.error ?? '',
  ]);
  const header = ['COMPONENT', 'STATUS', 'LATENCY', 'ERROR'];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col]?.length ?? 0)));
  // pad before colouring: escape codes would count as width
  const line = (cells: string[], paint = (text: string) => text) =>
    cells
      .map((cell, col) => {
        const padded = col === cells.length - 1 ? cell : cell.padEnd(widths[col] ?? 0);
        return col === 1 ? paint(padded) : col === 2 ? cell.padStart(widths[col] ?? 0) : padded;
      })
      .join('  ')
      .trimEnd();
  const lines = [line(header)];
  results.forEach((r, i) => {
    lines.push(line(rows[i] ?? [], (text) => (color ? styleText(COLOURS[r.status], text) : text)));
    if (verbose && r.details !== undefined) lines.push(`    ${JSON.stringify(r.details)}`);
  });
  if (components.some((c) => c.critical)) lines.push('* critical');
  const counts = (['healthy', 'degraded', 'unhealthy'] as const).map((s) => [s, results.filter((r) => r.status === s).length] as const);
  const status = overall(results);
  const summary = counts
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  lines.push(`overall: ${color ? styleText(COLOURS[status], status) : status} (${summary})`);
  return lines;
}
