/** Helpers for the built-in checks' tests: run a check, real loopback targets, and a socket-leak probe. */
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { generate } from 'selfsigned';
import type { CheckOutcome, HealthCheck } from '../../../src/health/types.js';
import { listen } from '../../support/http.js';

/** What a run came to: the outcome it returned, or `unhealthy` with the message it threw. */
export interface Settled extends CheckOutcome {
  status: 'healthy' | 'degraded' | 'unhealthy';
  thrown?: unknown;
}

/** Runs `check` once (with a never-aborted signal unless one is given) and normalises the result. */
export async function settle(check: HealthCheck, signal: AbortSignal = new AbortController().signal): Promise<Settled> {
  try {
    const outcome = (await check({ signal })) ?? {};
    return { ...outcome, status: outcome.status ?? 'healthy' };
  } catch (thrown) {
    return { status: 'unhealthy', error: thrown instanceof Error ? thrown.message : String(thrown), thrown };
  }
}

/**
 * Runs `check`, aborts it after `afterMs`, and says how it settled. Against a server that never
 * answers, settling at all shows the abort was honoured (else the test's own timeout ends it).
 */
export async function abortAfter(check: HealthCheck, afterMs = 100): Promise<Settled> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), afterMs);
  const result = await settle(check, controller.signal);
  clearTimeout(timer);
  return result;
}

/** Open TCP sockets of this process (client and server side). */
export function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
}

/** Waits (up to 2 s) for the open-socket count to fall to `baseline`, then returns it: handles close a tick late. */
export async function socketsSettled(baseline: number): Promise<number> {
  const deadline = Date.now() + 2000;
  while (tcpSockets() > baseline && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return tcpSockets();
}

/** A loopback TCP server that tracks its connections so `close` can drop them. */
export async function tcpServer(onConnection: (socket: Socket) => void = () => {}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A server that accepts and never answers: what a hung dependency looks like. */
export const hangingServer = () => tcpServer();

/** A port nothing listens on: bound by a server that is then closed. */
export async function closedPort(): Promise<number> {
  const server = await tcpServer();
  await server.close();
  return server.port;
}

/** A self-signed certificate for localhost and 127.0.0.1, valid from `from` to `to`. */
export async function certificate(from: Date, to: Date): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: from,
    notAfterDate: to,
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

/** An https server on a loopback port answering `ok` with `pems`. */
export function httpsServer(pems: { key: string; cert: string }): Promise<{ port: number; close(): Promise<void> }> {
  return listen(createHttpsServer(pems, (_req, res) => res.end('ok')));
}

export const DAY = 86_400_000;
