/**
 * Fixture of bench/monitor.ts: the load targets, in their own process.   node bench/monitor/targets.ts <ports>
 *
 * Listens on 127.0.0.1 on <ports> free ports (default 4; several, so the monitor's one-connection-
 * per-check probes spread their TIME_WAIT sockets over more ephemeral-port ranges), answers 200 'ok'
 * (text/plain, content-length) to every path, prints the ports (one line, comma-separated digits) on
 * stdout once listening, and exits when the parent disconnects the IPC channel or dies
 * (process.exit, so `--cpu-prof` still writes its profile).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const COUNT = Number(process.argv[2] ?? 4);
const headers = { 'content-type': 'text/plain; charset=utf-8', 'content-length': '2' };

function listen(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, headers);
    res.end('ok');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve(server));
  });
}

const servers = await Promise.all(Array.from({ length: COUNT }, () => listen()));
process.stdout.write(`${servers.map((s) => (s.address() as AddressInfo).port).join(',')}\n`);
process.on('disconnect', () => process.exit(0));
