import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { ActiveHealthChecker, type CheckState } from '../../src/failover/active-check.js';
import { type HttpProbe, httpProbe } from '../../src/failover/http-probe.js';
import { healthHandler } from '../../src/health/endpoints.js';
import { HealthCheckRegistry } from '../../src/health/registry.js';
import { listen } from '../support/http.js';

interface Upstream {
  origin: string;
  server: Server;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  connections: number;
  /** Resolves once every connection the server accepted is closed. */
  allClosed(): Promise<void>;
  /** Answer of `/readiness`, switchable. */
  readiness: number;
}

/** A node:http upstream on 127.0.0.1: `/readiness` answers `readiness`, `/drain` 503, `/hang` never, `/close` drops the socket. */
async function upstream(): Promise<Upstream> {
  const open = new Set<Socket>();
  let waiters: (() => void)[] = [];
  const u = { requests: [], connections: 0, readiness: 200 } as unknown as Upstream;
  const server = createServer((req, res) => {
    u.requests.push({ path: req.url ?? '', headers: req.headers });
    if (req.url === '/hang') return;
    if (req.url === '/close') return void req.socket.destroy();
    res.writeHead(req.url === '/drain' ? 503 : req.url === '/readiness' ? u.readiness : 404, { 'content-type': 'text/plain' });
    res.end('x'.repeat(req.url === '/readiness' ? 10 : 200_000)); // a body larger than dump's limit elsewhere
  });
  server.on('connection', (socket: Socket) => {
    u.connections++;
    open.add(socket);
    socket.on('close', () => {
      open.delete(socket);
      if (open.size === 0) for (const w of waiters.splice(0)) w();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  u.server = server;
  u.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  u.allClosed = () =>
    open.size === 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          waiters = [...waiters, resolve];
        });
  return u;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(options: Parameters<typeof httpProbe>[0] = {}): Promise<{ u: Upstream; probe: HttpProbe }> {
  const u = await upstream();
  const probe = httpProbe(options);
  cleanup.push(() => new Promise<void>((resolve) => u.server.close(() => resolve())));
  cleanup.push(() => {
    u.server.closeAllConnections();
  });
  cleanup.push(() => probe.close());
  return { u, probe };
}

const never = new AbortController().signal;

describe('httpProbe', () => {
  it('GET /readiness by default: the status, with the endpoint as Host and a user agent', async () => {
    const { u, probe } = await setup();
    expect(await probe(u.origin, never)).toEqual({ status: 200 });
    u.readiness = 500;
    expect(await probe(u.origin, never)).toEqual({ status: 500 });
    expect(u.requests.map((r) => r.path)).toEqual(['/readiness', '/readiness']);
    expect(u.requests[0]?.headers.host).toBe(u.origin.slice('http://'.length));
    expect(u.requests[0]?.headers['user-agent']).toBe('nines-health-check');
  });

  it('sends the path, headers and Host header it is given', async () => {
    const { u, probe } = await setup({ path: '/drain', host: 'api.internal', headers: { 'X-Probe': 'yes', 'User-Agent': 'mine' } });
    expect(await probe(u.origin, never)).toEqual({ status: 503 });
    expect(u.requests[0]?.headers).toMatchObject({ host: 'api.internal', 'x-probe': 'yes', 'user-agent': 'mine' });
  });

  it('a fresh connection per probe, none left open after each answer', async () => {
    const { u, probe } = await setup(); // a small body: nothing but the probe closes the connection
    for (let i = 0; i < 3; i++) {
      expect(await probe(u.origin, never)).toEqual({ status: 200 });
      await u.allClosed();
    }
    expect(u.connections).toBe(3);
    expect(u.requests.map((r) => r.headers.connection)).toEqual(['close', 'close', 'close']);
  });

  it('a big body is cut, not read, and the connection released', async () => {
    const { u, probe } = await setup({ path: '/other' });
    expect(await probe(u.origin, never)).toEqual({ status: 404 });
    await u.allClosed();
  });

  it('an endpoint that hangs times out with an error, and its connection is closed', async () => {
    const { u, probe } = await setup({ path: '/hang', timeoutMs: 100 });
    const outcome = await probe(u.origin, never);
    expect(outcome.status).toBeUndefined();
    expect((outcome.error as Error).name).toBe('TimeoutError');
    await u.allClosed();
  });

  it('the signal aborts a probe in flight with its reason, closing the connection', async () => {
    const { u, probe } = await setup({ path: '/hang', timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = probe(u.origin, controller.signal);
    await once(u.server, 'request');
    const reason = new Error('stop');
    controller.abort(reason);
    expect(await pending).toEqual({ error: reason });
    await u.allClosed();
  });

  it('an endpoint that drops the connection gives an error', async () => {
    const { u, probe } = await setup({ path: '/close' });
    const outcome = await probe(u.origin, never);
    expect(outcome.status).toBeUndefined();
    expect(outcome.error).toBeInstanceOf(Error);
  });

  it('a closed port gives ECONNREFUSED', async () => {
    const { u, probe } = await setup();
    const origin = u.origin;
    await new Promise<void>((resolve) => u.server.close(() => resolve()));
    const outcome = await probe(origin, never);
    expect(outcome.status).toBeUndefined();
    expect((outcome.error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('close() ends every connection, even of a probe in flight', async () => {
    const { u, probe } = await setup({ path: '/hang', timeoutMs: 60_000 });
    const pending = probe(u.origin, never);
    await once(u.server, 'request');
    await probe.close();
    expect((await pending).error).toBeInstanceOf(Error);
    await u.allClosed();
  });

  it("the default path is nines' own readiness: 200, then 503 (a drain) once its service shuts down", async () => {
    const shutdown = { shuttingDown: false };
    const handler = healthHandler(
      new HealthCheckRegistry().register('db', () => undefined),
      { shutdown },
    );
    const { url, close } = await listen(handler);
    const probe = httpProbe();
    cleanup.push(
      close,
      () => handler.close(),
      () => probe.close(),
    );
    expect(await probe(url, never)).toEqual({ status: 200 });
    shutdown.shuttingDown = true;
    expect(await probe(url, never)).toEqual({ status: 503 });
  });

  it('refuses bad options, naming them', () => {
    expect(() => httpProbe({ path: 'readiness' })).toThrow(/^path must start with/);
    expect(() => httpProbe({ timeoutMs: 0 })).toThrow(/^timeoutMs/);
    expect(() => httpProbe({ host: '' })).toThrow(/^host/);
    expect(() => httpProbe({ headers: { a: 1 as unknown as string } })).toThrow(/^headers\.a/);
  });
});

describe('httpProbe with ActiveHealthChecker on the system clock', () => {
  it('a readiness going 503 drains the endpoint at once; back to 200 it rises', async () => {
    const { u, probe } = await setup({ timeoutMs: 2000 });
    const changes: [CheckState, string][] = [];
    let onChange: () => void = () => undefined;
    const checker = new ActiveHealthChecker(probe, {
      clock: systemClock,
      intervalMs: 1000,
      fastIntervalMs: 20,
      downIntervalMs: 20,
      timeoutMs: 900,
      onChange: (_e, state, reason) => {
        changes.push([state, reason]);
        onChange();
      },
    });
    cleanup.push(() => checker.close());
    const changed = () =>
      new Promise<void>((resolve) => {
        onChange = resolve;
      });
    // real time: the test waits for transitions, never for a number of probes or a duration
    checker.add(u.origin, 'down');
    while (checker.state(u.origin) === 'down') await changed();
    u.readiness = 503;
    while (checker.state(u.origin) === 'up') await changed();
    expect(changes.at(-1)).toEqual(['down', 'drain']);
    u.readiness = 200;
    while (checker.state(u.origin) === 'down') await changed();
    expect(changes.at(-1)).toEqual(['up', 'rise']);
  });
});
