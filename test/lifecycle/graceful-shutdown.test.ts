import { Agent, createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { GracefulShutdown, type GracefulShutdownOptions } from '../../src/lifecycle/index.js';
import { lifecycleMetrics } from '../../src/metrics/lifecycle-metrics.js';
import { exitRecorder, get, listen, memoryLogger, sleep, tryConnect } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A node:http server on loopback whose handler waits `?ms=` (default 0) before answering 'ok'. */
async function start(listener?: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(
    listener ??
      ((req, res) => {
        const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
        setTimeout(() => res.end('ok'), ms);
      }),
  );
  const port = await listen(server);
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { server, port };
}

function shutdownFor(server: Server | { server: Server }, options: GracefulShutdownOptions = {}) {
  const exit = exitRecorder();
  const logger = memoryLogger();
  const shutdown = new GracefulShutdown({ drainDelay: 100, timeout: 300, handleSignals: false, exit, logger, ...options });
  shutdown.addServer(server);
  cleanups.push(() => shutdown.dispose());
  return { shutdown, exit, logger };
}

/** A shutdown on a ManualClock: its drain and timeout end only when the test moves the clock. */
function manualShutdownFor(server: Server, options: GracefulShutdownOptions = {}) {
  const clock = new ManualClock(1_000_000);
  return { clock, ...shutdownFor(server, { clock, ...options }) };
}

/** A handler that answers only when the test calls `release()`; `arrived` counts the requests it holds. */
function heldHandler(first?: (res: ServerResponse) => void) {
  const held: Array<() => void> = [];
  const listener: RequestListener = (_req, res) => {
    first?.(res);
    held.push(() => res.end('ok'));
  };
  return {
    listener,
    arrived: () => held.length,
    release: () => {
      for (const end of held.splice(0)) end();
    },
  };
}

describe('GracefulShutdown sequence', () => {
  it('flags shutdown at once, serves new connections with Connection: close while draining, then refuses them', async () => {
    const { server, port } = await start();
    const { shutdown, exit, clock } = manualShutdownFor(server, { drainDelay: 200 });
    expect((await get(port)).connection).toBe('keep-alive');

    const done = shutdown.shutdown('test');
    expect(shutdown.shuttingDown).toBe(true);

    const during = await get(port); // a new connection: the drain lasts until the clock moves
    expect(during).toMatchObject({ status: 200, body: 'ok', connection: 'close' });

    await clock.advance(200);
    const report = await done;
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(report).toMatchObject({ reason: 'test', forced: false, cutRequests: 0, hooks: [], durationMs: 200 });
    expect(exit.codes).toEqual([0]);
  });

  it('closes idle keep-alive sockets when the listener closes, without waiting for the timeout', async () => {
    const { server, port } = await start();
    const { shutdown, clock } = manualShutdownFor(server, { drainDelay: 100, timeout: 2_000 });
    let clientSocket: Socket | undefined;
    const agent = new Agent({ keepAlive: true });
    agent.on('free', (socket: Socket) => (clientSocket ??= socket));
    await get(port, '/', agent);
    expect(clientSocket?.destroyed).toBe(false);

    const closed = new Promise<void>((resolve) => clientSocket?.once('close', () => resolve()));
    const done = shutdown.shutdown();
    await get(port); // a full round trip while draining: the idle socket is kept (still usable)...
    expect(clientSocket?.destroyed).toBe(false);
    await clock.advance(100);
    await closed; // ...and closed when the listener closes: the clock never reaches the 2 s timeout
    const report = await done;
    expect(report).toMatchObject({ forced: false, durationMs: 100 });
  });

  it('lets an in-flight request finish after the listener closed, with Connection: close', async () => {
    const handler = heldHandler();
    const { server, port } = await start(handler.listener);
    const { shutdown, exit, clock } = manualShutdownFor(server, { drainDelay: 50, timeout: 1_000 });
    const slow = get(port, '/');
    await expect.poll(() => handler.arrived()).toBe(1);
    expect(shutdown.inFlight).toBe(1);

    const done = shutdown.shutdown();
    await clock.advance(50);
    await expect.poll(() => tryConnect(port)).toBe('ECONNREFUSED'); // closed while the request runs
    expect(shutdown.inFlight).toBe(1);

    handler.release();
    expect(await slow).toMatchObject({ status: 200, connection: 'close' });
    const report = await done;
    expect(report).toMatchObject({ forced: false, cutRequests: 0, durationMs: 50 });
    expect(shutdown.inFlight).toBe(0);
    expect(exit.codes).toEqual([0]);
  });

  it('closes a keep-alive socket as soon as a response started before shutdown ends', async () => {
    // headers leave before shutdown: no Connection: close
    const handler = heldHandler((res) => res.writeHead(200, { 'content-type': 'text/plain' }).write('a'));
    const { server, port } = await start(handler.listener);
    const { shutdown, clock } = manualShutdownFor(server, { drainDelay: 50, timeout: 2_000 });
    const reply = get(port);
    await expect.poll(() => handler.arrived()).toBe(1);
    const done = shutdown.shutdown();
    await clock.advance(50);
    handler.release();
    expect(await reply).toMatchObject({ status: 200, body: 'aok', connection: 'keep-alive' });
    const report = await done;
    // did not wait for the 2 s timeout on the socket left idle
    expect(report).toMatchObject({ forced: false, durationMs: 50 });
  });

  it('cuts requests still running at the timeout, logs them and exits 1', async () => {
    const { server, port } = await start((_req, _res) => undefined); // never answers
    const { shutdown, exit, logger, clock } = manualShutdownFor(server, { drainDelay: 50, timeout: 200 });
    const hung = get(port, '/hang?token=s3cret').catch((error: NodeJS.ErrnoException) => error.code);
    await expect.poll(() => shutdown.inFlight).toBe(1);
    await clock.advance(10); // the request's age at the cut counts from its arrival

    const done = shutdown.shutdown();
    await clock.advance(50);
    await expect.poll(() => clock.pendingTimers).toBe(1); // the timeout, armed once the listener closed
    await clock.advance(200);
    const report = await done;
    expect(await hung).toBe('ECONNRESET');
    expect(report).toMatchObject({ forced: true, cutRequests: 1, durationMs: 250 });
    expect(exit.codes).toEqual([1]);
    const warning = logger.entries.find((e) => e.level === 'warn' && e.msg.startsWith('shutdown timeout'));
    expect(warning?.obj).toMatchObject({ cutRequests: 1, cut: [{ method: 'GET', url: '/hang', ageMs: 260 }] });
    expect(JSON.stringify(warning)).not.toContain('s3cret');
  });

  it('is idempotent: every call returns the same report and exit runs once', async () => {
    const { server } = await start();
    const { shutdown, exit, logger } = shutdownFor(server, { drainDelay: 20 });
    const first = shutdown.shutdown('a');
    expect(shutdown.shutdown('b')).toBe(first);
    await first;
    expect(shutdown.shutdown('c')).toBe(first);
    expect((await first).reason).toBe('a');
    expect(exit.codes).toEqual([0]);
    expect(logger.entries.filter((e) => e.msg.startsWith('shutdown started'))).toHaveLength(1);
  });
});

describe('GracefulShutdown hooks', () => {
  it('runs hooks in reverse order, each under its own timeout, and exits 1 when one fails', async () => {
    const { server } = await start();
    const { shutdown, exit, clock } = manualShutdownFor(server, { drainDelay: 10, timeout: 100, hookTimeout: 100 });
    const ran: string[] = [];
    let hangSignal: AbortSignal | undefined;
    shutdown
      .addHook('db', () => void ran.push('db'))
      .addHook('broken', () => {
        ran.push('broken');
        throw new Error('flush failed');
      })
      .addHook(
        'hang',
        (signal) => {
          ran.push('hang');
          hangSignal = signal;
          return new Promise(() => undefined);
        },
        { timeout: 50 },
      )
      .addHook('logs', async () => {
        ran.push('logs');
        await sleep(10);
      });

    const done = shutdown.shutdown();
    await clock.advance(10);
    await expect.poll(() => ran).toContain('hang');
    await clock.advance(50);
    const report = await done;
    expect(ran).toEqual(['logs', 'hang', 'broken', 'db']);
    expect(report.hooks).toEqual([
      { name: 'logs', ok: true, ms: 0 },
      { name: 'hang', ok: false, ms: 50, error: 'timed out after 50 ms' },
      { name: 'broken', ok: false, ms: 0, error: 'flush failed' },
      { name: 'db', ok: true, ms: 0 },
    ]);
    expect(hangSignal?.aborted).toBe(true);
    expect(report).toMatchObject({ forced: true, cutRequests: 0, durationMs: 60 });
    expect(exit.codes).toEqual([1]);
  });

  it('starts an atDrain hook with the drain, while the server still answers, and reports it first', async () => {
    const { server, port } = await start();
    const { shutdown, clock } = manualShutdownFor(server, { drainDelay: 1_000, timeout: 100, hookTimeout: 100 });
    const ran: string[] = [];
    let release: () => void = () => {};
    shutdown
      .addHook('store', () => void ran.push('store'))
      .addHook(
        'lease',
        () =>
          new Promise<void>((resolve) => {
            ran.push('lease');
            release = resolve;
          }),
        { atDrain: true, timeout: 5_000 },
      );
    const done = shutdown.shutdown();
    await expect.poll(() => ran).toEqual(['lease']); // before any of the drain has passed
    expect((await get(port, '/')).status).toBe(200); // still serving: only the drain has begun
    await clock.advance(1_000);
    release();
    const report = await done;
    expect(ran).toEqual(['lease', 'store']);
    expect(report.hooks.map((h) => [h.name, h.ok])).toEqual([
      ['lease', true],
      ['store', true],
    ]);
  });

  it('exits 0 when every hook succeeds', async () => {
    const { server } = await start();
    const { shutdown, exit } = shutdownFor(server, { drainDelay: 10 });
    shutdown.addHook('pool', () => sleep(5));
    const report = await shutdown.shutdown();
    expect(report.hooks).toMatchObject([{ name: 'pool', ok: true }]);
    expect(exit.codes).toEqual([0]);
  });
});

describe('GracefulShutdown signals', () => {
  it('starts on the first signal, exits 1 at once on the second, and dispose() removes the handlers', async () => {
    const before = process.listenerCount('SIGUSR2');
    const { server, port } = await start();
    const { shutdown, exit, logger } = shutdownFor(server, { drainDelay: 300, signals: ['SIGUSR2'], handleSignals: true });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    const agent = new Agent({ keepAlive: true });
    await get(port, '/', agent);

    process.emit('SIGUSR2', 'SIGUSR2'); // the handler, without a real signal reaching the test runner
    expect(shutdown.shuttingDown).toBe(true);
    expect(exit.codes).toEqual([]);
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(exit.codes).toEqual([1]);
    expect(logger.entries.some((e) => e.level === 'error' && e.msg.startsWith('second signal'))).toBe(true);

    const report = await shutdown.shutdown();
    expect(report.reason).toBe('SIGUSR2');
    expect(exit.codes).toEqual([1]); // the finished sequence does not exit a second time
    shutdown.dispose();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('installs no handler when handleSignals is false', () => {
    const before = process.listenerCount('SIGTERM');
    const shutdown = new GracefulShutdown({ handleSignals: false });
    expect(process.listenerCount('SIGTERM')).toBe(before);
    shutdown.dispose();
  });
});

describe('GracefulShutdown options and metrics', () => {
  it('rejects bad options and non-servers with a TypeError naming them', () => {
    expect(() => new GracefulShutdown({ drainDelay: -1, handleSignals: false })).toThrow(/^drainDelay/);
    expect(() => new GracefulShutdown({ timeout: Number.NaN, handleSignals: false })).toThrow(/^timeout/);
    const shutdown = new GracefulShutdown({ handleSignals: false });
    expect(() => shutdown.addServer({} as Server)).toThrow(TypeError);
    expect(() => shutdown.addHook('', () => undefined)).toThrow(/^name/);
  });

  it('reports in-flight requests and shutdown progress as gauges, reusing metrics already on the registry', async () => {
    const registry = new Registry();
    const metrics = lifecycleMetrics(registry);
    lifecycleMetrics(registry); // a second sink on the same registry must not throw on duplicate names
    const value = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value;

    const { server, port } = await start();
    const { shutdown } = shutdownFor(server, { drainDelay: 50, timeout: 1_000, metrics });
    const slow = get(port, '/?ms=200');
    await expect.poll(() => value('nines_http_requests_in_flight')).toBe(1);
    expect(await value('nines_shutdown_in_progress')).toBe(0);
    const done = shutdown.shutdown();
    expect(await value('nines_shutdown_in_progress')).toBe(1);
    await slow;
    await done;
    expect(await value('nines_http_requests_in_flight')).toBe(0);
    expect(await value('nines_shutdown_in_progress')).toBe(0);
  });
});
