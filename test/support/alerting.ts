/** What the alerting end-to-end tests share: a loopback target to switch off, and a nines serve config that watches it. */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort } from './e2e.js';

/** An HTTP target on loopback answering 200 while `up`, 503 once set false. */
export async function switchableTarget() {
  const state = { up: true };
  const server = createServer((_req, res) => res.writeHead(state.up ? 200 : 503).end(state.up ? 'UP' : 'DOWN'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () => new Promise<void>((r) => server.close(() => r()));
  return { state, port: (server.address() as AddressInfo).port, close };
}

/**
 * Writes `dir/nines.yaml`: nines serve on a free port, SQLite in `dir`, component `web` probing
 * `targetPort` every 200 ms (one failure opens an incident), SLO `web-slo` at 99.9 %; `extra` is
 * appended (an `alerts:` block) and `slo` added to the SLO's map.
 */
export async function alertingConfig(dir: string, targetPort: number, options: { slo?: string; extra?: string } = {}) {
  const port = await freePort();
  const path = join(dir, 'nines.yaml');
  writeFileSync(
    path,
    `server: { host: 127.0.0.1, port: ${port} }
storage: sqlite:${join(dir, 'nines.db')}
defaults: { interval: 200ms, timeout: 150ms, degradedAfter: 100ms, failuresToOpen: 1, successesToResolve: 1 }
components:
  - { name: web, check: { type: http, url: 'http://127.0.0.1:${targetPort}/' } }
slos:
  - { name: web-slo, component: web, objective: 99.9${options.slo === undefined ? '' : `, ${options.slo}`} }
${options.extra ?? ''}
`,
  );
  return { path, base: `http://127.0.0.1:${port}` };
}
