import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { root } from '../support/e2e.js';

/** The text of a file of the checkout. */
export const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** The Dockerfile's instructions of the last stage, continuation lines joined: `{ CMD: '["node", …]', … }`. */
export function dockerfile(): Record<string, string> {
  const lines = read('Dockerfile')
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const lastStage = lines.findLastIndex((line) => line.startsWith('FROM '));
  const out: Record<string, string> = {};
  for (const line of lines.slice(lastStage)) {
    const [word = '', ...rest] = line.split(' ');
    out[word] = rest.join(' ');
  }
  return out;
}

/** The image's command, as the JSON array of its `CMD`. */
export const imageCommand = (): string[] => JSON.parse(dockerfile().CMD ?? '[]') as string[];

/** The `HEALTHCHECK` command of the image, as its exec array. */
export function imageHealthcheck(): string[] {
  const match = /CMD (\[.*\])$/.exec(dockerfile().HEALTHCHECK ?? '');
  return match?.[1] === undefined ? [] : (JSON.parse(match[1]) as string[]);
}

/** The compose file, `<<` merge keys applied as Compose does. */
export const compose = (): ComposeFile => parse(read('deploy/compose/compose.yaml'), { merge: true }) as ComposeFile;

/** The part of a compose file the tests read. */
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { file?: string }>;
}

/** The part of a Compose service the tests read. */
export interface ComposeService {
  image?: string;
  restart?: string;
  profiles?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  stop_signal?: string;
  read_only?: boolean;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
  volumes?: string[];
  configs?: { source: string; target: string }[];
}

/** `60s`, `1m30s`, `500ms` (Compose's and systemd's durations) in ms. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n: string, unit: string) => {
    total += Number(n) * (units[unit] ?? Number.NaN);
    return '';
  });
  if (rest.trim() !== '' || text.trim() === '') throw new Error(`not a duration: ${text}`);
  return total;
}

/** The URL path a `node -e "fetch('http://…/path')…"` healthcheck probes. */
export const probedPath = (command: string[]): string | undefined => /fetch\('http:\/\/[^/']+(\/[^']*)'/.exec(command.join(' '))?.[1];
