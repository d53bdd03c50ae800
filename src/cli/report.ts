import { formatDuration, parseDuration, storageSchema, storageUrl } from '../config/index.js';
import { History, type ProbeStats, type SloFigures, type WindowFigures } from '../monitor/history.js';
import { openStore } from '../monitor/store/index.js';
import { EXIT_INVALID, loadOrReport, type Output, processOutput } from './validate.js';

/** Options of `nines report`. */
export interface ReportOptions {
  /** Config file to load. */
  config: string;
  /** Window length, e.g. `24h`, `7d`; ends at `to`. Default 7d. */
  window?: string;
  /** Start of the window (ISO 8601 or epoch ms); with it `window` is ignored. */
  from?: string;
  /** End of the window (ISO 8601 or epoch ms). Default now. */
  to?: string;
  /** Print JSON instead of a table. */
  json?: boolean;
}

/** Epoch ms of an ISO 8601 time or of epoch ms; NaN when neither. */
const instant = (text: string) => (/^\d+$/.test(text) ? Number(text) : Date.parse(text));

const pct = (ratio: number | null) => (ratio === null ? '—' : `${(ratio * 100).toFixed(3)} %`);
const dur = (ms: number | null) => (ms === null ? '—' : formatDuration(Math.round(ms)));

/**
 * `nines report`: the figures of every component and SLO over a window, from the stored history
 * alone (the monitor need not run), computed by the same code as the API and `/metrics`.
 */
export async function report(
  options: ReportOptions,
  output: Output = processOutput,
  env: NodeJS.ProcessEnv = process.env,
  now = Date.now(),
): Promise<number> {
  const config = await loadOrReport(options.config, output, env);
  if (config === undefined) return EXIT_INVALID;
  let windowMs: number;
  try {
    windowMs = parseDuration(options.window ?? '7d');
  } catch {
    output.err(`--window: expected a duration like 24h, 7d or 30d`);
    return EXIT_INVALID;
  }
  const to = options.to === undefined ? now : instant(options.to);
  const from = options.from === undefined ? to - windowMs : instant(options.from);
  if (Number.isNaN(to) || Number.isNaN(from) || from >= to) {
    output.err('--from/--to: expected ISO 8601 times or epoch ms, --from before --to');
    return EXIT_INVALID;
  }
  const store = await openStore(storageUrl(config), { schema: storageSchema(config) });
  try {
    await store.migrate();
    // the same read path as the API and the status page, with the stored states for probe times
    const history = await History.fromStore(store, config, now);
    const window = { from, to };
    const components: Array<{ name: string; figures: WindowFigures; checks: ProbeStats }> = [];
    for (const c of config.components) {
      const figures = await history.figures(c.name, window);
      if (figures === undefined) continue;
      components.push({ name: c.name, figures, checks: await history.probeStats(c.name, window.from, figures.to) });
    }
    const slos: Array<SloFigures | undefined> = [];
    for (const slo of config.slos) {
      if (!config.components.some((x) => x.name === slo.component)) continue;
      slos.push(await history.slo(slo, Math.min(to, now)));
    }
    if (options.json) {
      output.out(JSON.stringify({ window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, components, slos }));
      return 0;
    }
    output.out(`Figures from ${new Date(from).toISOString()} to ${new Date(to).toISOString()} (${formatDuration(to - from)})`);
    output.out('');
    const rows = components.map(({ name, figures: f, checks: k }) => [
      name,
      pct(f.availability),
      dur(f.upMs),
      dur(f.downMs),
      dur(f.unobservedMs),
      String(f.incidentsStarted),
      dur(f.mtbfMs),
      dur(f.mttrMs),
      `${k.total}/${k.healthy}/${k.degraded}/${k.unhealthy}`,
      k.p50 === null ? '—' : `${k.p50}/${k.p95}/${k.p99} ms`,
    ]);
    table(
      output,
      ['component', 'availability', 'up', 'down', 'unobserved', 'incidents', 'MTBF', 'MTTR', 'checks all/ok/deg/fail', 'p50/p95/p99'],
      rows,
    );
    if (slos.length > 0) {
      output.out('');
      table(
        output,
        ['SLO', 'objective', 'window', 'budget', 'remaining', 'burn 1h', 'burn 6h'],
        slos.flatMap((s) =>
          s === undefined
            ? []
            : [
                [
                  s.name,
                  `${s.objective} %`,
                  formatDuration(s.windowMs),
                  dur(s.budgetMs),
                  pct(s.budgetRemaining),
                  fmt(s.burnRate1h),
                  fmt(s.burnRate6h),
                ],
              ],
        ),
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

function fmt(x: number | null): string {
  return x === null ? '—' : x.toFixed(2);
}

function table(output: Output, head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  output.out(line(head));
  for (const r of rows) output.out(line(r));
}
