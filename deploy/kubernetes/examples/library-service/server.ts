// A Node service that uses nines' probes and graceful shutdown, as deployment.yaml beside this file
// runs it: readiness and liveness on /readyz and /livez, and SIGTERM drained in-process.
//   npm run build && PORT=8080 node deploy/kubernetes/examples/library-service/server.ts
import { createServer, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { eventLoop, HealthCheckRegistry, healthHandler } from 'nines/health';
import { GracefulShutdown } from 'nines/lifecycle';

/**
 * The shutdown settings (ms). deployment.yaml's terminationGracePeriodSeconds must exceed
 * drainDelay + timeout + hookTimeout × HOOKS.length, or Kubernetes' SIGKILL cuts the shutdown short.
 */
export const SHUTDOWN = { drainDelay: 5_000, timeout: 20_000, hookTimeout: 3_000 } as const;

/** The cleanup hooks the service registers; each may take `hookTimeout`. */
export const HOOKS = ['database pool'] as const;

/** Starts the service on `port`; resolves once it listens. */
export async function startService(port: number, host = '0.0.0.0'): Promise<Server> {
  // drainDelay plays the role of a `preStop: sleep`, inside the process: during it readiness is 503,
  // requests are still served (with Connection: close) while endpoints and proxies catch up.
  const shutdown = new GracefulShutdown(SHUTDOWN);
  // Critical checks only for what the service cannot answer without; here the event loop, which
  // is also what liveness watches.
  const registry = new HealthCheckRegistry({ interval: 5_000 }).register('loop', eventLoop({ maxLagMs: 200 }), { critical: true }).start();
  const probes = healthHandler(registry, { shutdown });
  const server = createServer((req, res) =>
    probes(req, res, () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}');
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  shutdown.addServer(server).addHook(HOOKS[0], async () => {
    registry.stop(); // stands in for pool.end(): whatever holds connections open
  });
  return server;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 8080);
  await startService(port, process.env.HOST ?? '0.0.0.0');
  process.stdout.write(`library-service listening on ${port}\n`);
}
