/**
 * Fixture of bench/probes.ts: one server per process.   node bench/probes/server.ts <variant>
 *
 * Loads only its variant's library, listens on 127.0.0.1 on a free port (lightship: 0.0.0.0, its
 * host is not configurable), prints the port (one line, digits only) on stdout once it answers, and
 * exits when the parent disconnects the IPC channel or dies (process.exit, so `--cpu-prof` still
 * writes its profile). BENCH_NINES=<path of another build's health/index.js> serves another build.
 *
 *   bare       node:http answering 200 'ok' (with content-length) to everything: the limit
 *   nines      node:http + healthHandler(registry): one trivial critical check and one trivial
 *              non-critical check in background mode (registry.start())
 *   lightship  lightship 9 (its own Fastify 5 app) after signalReady(); readiness is `/ready`;
 *              Kubernetes detection and signal handling off
 *   terminus   node:http decorated by @godaddy/terminus 4 with one trivial `/readiness` check;
 *              other paths answer 404
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

function listen(server: Server): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function bare(): Promise<Server> {
  // content-length up front: without it writeHead commits to chunked encoding, ~1 µs/req more than nines' answer.
  const text = { 'content-type': 'text/plain; charset=utf-8', 'content-length': '2' };
  return listen(
    createServer((_req, res) => {
      res.writeHead(200, text);
      res.end('ok');
    }),
  );
}

async function nines(): Promise<Server> {
  const lib: typeof import('nines/health') = await import(process.env.BENCH_NINES ?? 'nines/health');
  const registry = new lib.HealthCheckRegistry()
    .register('db', async () => {}, { critical: true })
    .register('cache', async () => {}, { critical: false });
  registry.start();
  await registry.runAll(); // joins the first background runs: readiness answers 200 from here on
  return listen(createServer(lib.healthHandler(registry)));
}

async function lightship(): Promise<Server> {
  const { createLightship } = await import('lightship');
  const ship = await createLightship({ detectKubernetes: false, port: 0, signals: [], shutdownDelay: 0 });
  ship.signalReady();
  return ship.server;
}

async function terminus(): Promise<Server> {
  const { createTerminus } = await import('@godaddy/terminus');
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  createTerminus(server, { healthChecks: { '/readiness': async () => {} } });
  return listen(server);
}

const variants: Record<string, () => Promise<Server>> = { bare, nines, lightship, terminus };
const start = variants[process.argv[2] ?? ''];
if (start === undefined) {
  process.stderr.write(`usage: node bench/probes/server.ts <${Object.keys(variants).join('|')}>\n`);
  process.exit(2);
}
const server = await start();
process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
if (process.connected) process.on('disconnect', () => process.exit(0)); // started by hand: runs until ^C
