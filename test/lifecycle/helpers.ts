/** Helpers for lifecycle tests: real sockets on loopback, nothing mocked. */
import { Agent, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import type { ShutdownLogger } from '../../src/lifecycle/index.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Listens on a free loopback port and returns it. */
export async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export interface Reply {
  status: number;
  connection: string | undefined;
  body: string;
}

/** GET `path`; `agent` defaults to a fresh keep-alive agent, so `Connection: close` can only come from the server. */
export function get(port: number, path = '/', agent: Agent = new Agent({ keepAlive: true })): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a bare TCP connection: 'connected', or the error code (ECONNREFUSED once the listener is closed). */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

/** A logger that keeps what it is told. */
export function memoryLogger(): ShutdownLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const log = (level: LogEntry['level']) => (obj: object, msg: string) => entries.push({ level, msg, obj: obj as Record<string, unknown> });
  return { entries, info: log('info'), warn: log('warn'), error: log('error') };
}

/** An `exit` that records its codes instead of ending the test process. */
export function exitRecorder(): ((code: number) => void) & { codes: number[] } {
  const codes: number[] = [];
  return Object.assign((code: number) => void codes.push(code), { codes });
}
