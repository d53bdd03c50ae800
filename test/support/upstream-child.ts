// One upstream of the failover tests and bench: a node:http server in its own process, driven over IPC
// by test/support/upstream.ts. Run with plain node (Node 24 strips the types). No relative imports.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

type Mode = 'ok' | '503' | 'hang' | 'slow' | 'drain' | 'flaky';
const MODES: readonly Mode[] = ['ok', '503', 'hang', 'slow', 'drain', 'flaky'];
/** Share of requests a `flaky` upstream answers 503 (its readiness stays 200). */
const FLAKY_RATE = Number(process.env.UPSTREAM_FLAKY_RATE ?? 0.01);

/** Keep-alive like a server behind a cloud load balancer: connections are kept and reused. */
const KEEP_ALIVE_MS = 65_000;
/** A port freed by a killed process can be briefly held by a client socket: retry the bind this long. */
const BIND_RETRY_MS = 10_000;
const BIND_RETRY_EVERY_MS = 50;

let mode: Mode = (process.env.UPSTREAM_MODE as Mode | undefined) ?? 'ok';
let slowMs = Number(process.env.UPSTREAM_SLOW_MS ?? 200);
const port = Number(process.env.UPSTREAM_PORT ?? 0);

const byMode: Record<Mode, number> = { ok: 0, '503': 0, hang: 0, slow: 0, drain: 0, flaky: 0 };
/** 503s answered by `flaky` mode. */
let errors = 0;
let readiness = 0;
let firstAt: number | null = null;
let lastAt: number | null = null;
const sockets = new Set<Socket>();

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/readiness') {
    readiness++;
    // hang answers nothing, readiness included; drain and 503 say "not ready".
    if (mode === 'hang') return;
    answer(res, mode === 'drain' || mode === '503' ? 503 : 200, mode === 'drain' ? 'draining' : mode);
    return;
  }
  byMode[mode]++;
  const now = Date.now();
  firstAt ??= now;
  lastAt = now;
  switch (mode) {
    case 'ok':
    case 'drain':
      answer(res, 200, 'ok');
      return;
    case 'flaky':
      if (Math.random() < FLAKY_RATE) {
        errors++;
        answer(res, 503, 'unlucky');
      } else answer(res, 200, 'ok');
      return;
    case '503':
      answer(res, 503, 'unavailable');
      return;
    case 'hang':
      return; // accepted, read, never answered
    case 'slow': {
      const timer = setTimeout(() => answer(res, 200, 'ok'), slowMs);
      res.on('close', () => clearTimeout(timer));
      return;
    }
  }
}

const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS, headersTimeout: KEEP_ALIVE_MS + 1_000 }, handle);
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

function listen(deadline: number): void {
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EADDRINUSE' && Date.now() < deadline) {
      setTimeout(() => listen(deadline), BIND_RETRY_EVERY_MS);
      return;
    }
    process.stderr.write(`upstream: cannot listen on ${port}: ${err.message}\n`);
    process.exit(1);
  };
  server.once('error', onError);
  server.listen({ port, host: '127.0.0.1', exclusive: false }, () => {
    server.off('error', onError);
    const address = server.address();
    const bound = address !== null && typeof address !== 'string' ? address.port : port;
    process.send?.({ type: 'listening', port: bound });
  });
}

interface Command {
  id: number;
  type: 'mode' | 'stats';
  mode?: Mode;
  slowMs?: number;
}

process.on('message', (msg: Command) => {
  if (msg.type === 'mode') {
    if (msg.mode !== undefined && MODES.includes(msg.mode)) mode = msg.mode;
    if (msg.slowMs !== undefined) slowMs = msg.slowMs;
    process.send?.({ type: 'ack', id: msg.id });
  } else if (msg.type === 'stats') {
    const total = MODES.reduce((sum, m) => sum + byMode[m], 0);
    process.send?.({ type: 'stats', id: msg.id, stats: { byMode, errors, readiness, total, firstAt, lastAt, connections: sockets.size } });
  }
});

// The parent is gone or done: exit without waiting for hung requests.
process.on('disconnect', () => {
  for (const socket of sockets) socket.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
});

listen(Date.now() + BIND_RETRY_MS);
