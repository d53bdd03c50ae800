/**
 * Prometheus' own tools for the tests: `promtool check metrics` and a real `prometheus` server
 * scraping a target on loopback. Without them (Debian's `prometheus` package) the tests skip with
 * a loud message, except under CI, where they fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startReadyDaemon } from './e2e.js';

export const PROMTOOL = '/usr/bin/promtool';
export const PROMETHEUS = '/usr/bin/prometheus';

/** True when both tools are installed; false (after a loud warning) when not and CI is unset. */
export function hasPrometheusTools(): boolean {
  if (existsSync(PROMTOOL) && existsSync(PROMETHEUS)) return true;
  if (process.env.CI) return true; // the tests run and fail, naming what is missing
  console.warn(`\n*** SKIPPING the promtool/Prometheus tests: ${PROMTOOL} is missing (apt-get install -y prometheus) ***\n`);
  return false;
}

/** `promtool check metrics` on `text`: its exit code and everything it printed (empty when clean). */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** `promtool <args…>` in a temp dir holding `files` (name → text): its exit code and everything it printed. */
export function promtool(args: string[], files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nines-promtool-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync(PROMTOOL, args, { cwd: dir, encoding: 'utf8' });
    if (r.error) throw r.error;
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool test rules` on the rule file `rules`, evaluated every minute, for `tests` (each its `interval`, `input_series` and `*_test` lists). */
export function promtoolTestRules(rules: string, tests: unknown[]): { status: number | null; output: string } {
  const file = { rule_files: ['rules.yaml'], evaluation_interval: '1m', tests };
  return promtool(['test', 'rules', 'tests.yaml'], { 'rules.yaml': rules, 'tests.yaml': stringify(file) });
}

/** What Prometheus' targets API says of one scrape target. */
export interface TargetHealth {
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: string;
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** A rule file's text (`nines export prometheus-rules`), loaded and evaluated every second. */
  rules?: string;
}

/** A Prometheus server scraping `target` (host:port) every second, in a temp dir; stop() kills it by its PID. */
export async function startPrometheus(
  target: string,
  options: PrometheusOptions = {},
): Promise<{ base: string; target: () => Promise<TargetHealth | undefined>; stop: () => void }> {
  const { base, stop } = await startReadyDaemon('Prometheus', PROMETHEUS, (dir, listen) => {
    let config = `global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }\n`;
    if (options.rules !== undefined) {
      writeFileSync(join(dir, 'rules.yaml'), options.rules);
      config += `rule_files: ['${join(dir, 'rules.yaml')}']\n`;
    }
    config += `scrape_configs:\n  - job_name: nines\n    static_configs: [{ targets: ['${target}'] }]\n`;
    writeFileSync(join(dir, 'prometheus.yml'), config);
    return [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${listen}`];
  });
  const targetHealth = async () => {
    const body = (await (await fetch(`${base}/api/v1/targets`)).json()) as { data: { activeTargets: TargetHealth[] } };
    return body.data.activeTargets[0];
  };
  return { base, target: targetHealth, stop };
}

/** One series of a Prometheus instant query: its labels and its [seconds, value] sample. */
export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Prometheus' answer to an instant query of `query` (at `time`, seconds, or now). */
export async function promQuery(base: string, query: string, time?: number): Promise<InstantSample[]> {
  const params = new URLSearchParams({ query });
  if (time !== undefined) params.set('time', String(time));
  const body = (await (await fetch(`${base}/api/v1/query?${params}`)).json()) as {
    status: string;
    data: { result: InstantSample[] };
    error?: string;
  };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  return body.data.result;
}

/** An alert as Prometheus' /api/v1/alerts lists it. */
export interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** The alerts Prometheus holds now. */
export async function promAlerts(base: string): Promise<PromAlert[]> {
  const body = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } };
  return body.data.alerts;
}
