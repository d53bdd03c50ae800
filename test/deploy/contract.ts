import { until } from '../support/e2e.js';
import { imageHealthcheck, read } from './files.js';

// The start/stop/restart contract of the image, shared by the host test (its command and user, run
// here) and the container test (the image itself, under podman).

/** The image's config (deploy/image/nines.yaml) listening on `host`:`port` instead of 0.0.0.0:4000. */
export const imageConfig = (host: string, port: number): string =>
  read('deploy/image/nines.yaml').replace('host: 0.0.0.0', `host: ${host}`).replaceAll('4000', String(port));

/** The image's HEALTHCHECK script aimed at `port`: run it with `node -e`. */
export function healthcheckScript(port: number): string {
  const [, flag, script = ''] = imageHealthcheck();
  if (flag !== '-e') throw new Error('the HEALTHCHECK is not `node -e <script>`');
  return script.replace('127.0.0.1:4000', `127.0.0.1:${port}`);
}

/** Resolves once `/readiness` answers 200. */
export const ready = (base: string, timeoutMs = 60_000) =>
  until('/readiness to answer 200', async () => ((await fetch(`${base}/readiness`)).ok ? true : undefined), timeoutMs);

/** The stored checks of the image config's `self` component, oldest first (`timeMs` of each). */
export async function selfChecks(base: string): Promise<number[]> {
  const body = (await (await fetch(`${base}/api/components/self/checks?limit=1000`)).json()) as { items: { timeMs: number }[] };
  return body.items.map((item) => item.timeMs).reverse();
}

/** Waits until `self` has at least one check and returns them. */
export const someChecks = (base: string) =>
  until('a first check of self', async () => {
    const checks = await selfChecks(base);
    return checks.length > 0 ? checks : undefined;
  });

/** What `nines serve` logged as it stopped: GracefulShutdown's "shutdown complete" line. */
export interface StopReport {
  forced: boolean;
  cutRequests: number;
  hooks: { name: string; ok: boolean }[];
  durationMs: number;
}

/** The "shutdown complete" report in pino's JSON lines, if logged. */
export function stopReport(logs: string): StopReport | undefined {
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string } & StopReport;
    if (entry.msg === 'shutdown complete') return entry;
  }
  return undefined;
}
