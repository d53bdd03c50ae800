import { Agent, createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
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

describe('GracefulShutdown sequence', () => {
  it('flags shutdown at once, serves new connections with Connection: close while draining, then refuses them', async () => {
    const { server, port } = await start();
    const { shutdown, exit } = shutdownFor(server, { drainDelay: 200 });
    expect((await get(port)).connection).toBe('keep-alive');

    const t0 = Date.now();
    const done = shutdown.shutdown('test');
    expect(shutdown.shuttingDown).toBe(true);

    const during = await get(port); // a new connection, inside drainDelay
    expect(during).toMatchObject({ status: 200, body: 'ok', connection: 'close' });
    expect(Date.now() - t0).toBeLessThan(200);

    const report = await done;
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(report).toMatchObject({ reason: 'test', forced: false, cutRequests: 0, hooks: [] });
    expect(report.durationMs).toBeGreaterThanOrEqual(195);
    expect(exit.codes).toEqual([0]);
  });

  it('closes idle keep-alive sockets when the listener closes, without waiting for the timeout', async () => {
    const { server, port } = await start();
    const { shutdown } = shutdownFor(server, { drainDelay: 100, timeout: 2_000 });
    let clientSocket: Socket | undefined;
    const agent = new Agent({ keepAlive: true });
    agent.on('free', (socket: Socket) => (clientSocket ??= socket));
    await get(port, '/', agent);
    expect(clientSocket?.destroyed).toBe(false);

    const t0 = Date.now();
    const closedAt = new Promise<number>((resolve) => clientSocket?.once('close', () => resolve(Date.now() - t0)));
    const report = await shutdown.shutdown();
    expect(await closedAt).toBeGreaterThanOrEqual(95); // kept open during the drain (still usable)...
    expect(report.durationMs).toBeLessThan(500); // ...and closed right after, not at the 2 s timeout
    expect(report.forced).toBe(false);
  });

  it('lets an in-flight request finish after the listener closed, with Connection: close', async () => {
    const { server, port } = await start();
    const { shutdown, exit } = shutdownFor(server, { drainDelay: 50, timeout: 1_000 });
    const slow = get(port, '/?ms=300');
    await sleep(20);
    expect(shutdown.inFlight).toBe(1);

    const done = shutdown.shutdown();
    await sleep(120);
    expect(await tryConnect(port)).toBe('ECONNREFUSED'); // closed while the slow request runs
    expect(shutdown.inFlight).toBe(1);

    expect(await slow).toMatchObject({ status: 200, connection: 'close' });
    const report = await done;
    expect(report).toMatchObject({ forced: false, cutRequests: 0 });
    expect(shutdown.inFlight).toBe(0);
    expect(exit.codes).toEqual([0]);
  });

  it('closes a keep-alive socket as soon as a response started before shutdown ends', async () => {
    const { server, port } = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }); // headers leave before shutdown: no Connection: close
      res.write('a');
      setTimeout(() => res.end('b'), 250);
    });
    const { shutdown } = shutdownFor(server, { drainDelay: 50, timeout: 2_000 });
    const reply = get(port);
    await sleep(30);
    const report = await shutdown.shutdown();
    expect(await reply).toMatchObject({ status: 200, body: 'ab', connection: 'keep-alive' });
    expect(report.forced).toBe(false);
    expect(report.durationMs).toBeLessThan(700); // did not wait for the 2 s timeout on an idle socket
  });

  it('cuts requests still running at the timeout, logs them and exits 1', async () => {
    const { server, port } = await start((_req, _res) => undefined); // never answers
    const { shutdown, exit, logger } = shutdownFor(server, { drainDelay: 50, timeout: 200 });
    const hung = get(port, '/hang?token=s3cret').catch((error: NodeJS.ErrnoException) => error.code);
    await sleep(20);

    const report = await shutdown.shutdown();
    expect(await hung).toBe('ECONNRESET');
    expect(report).toMatchObject({ forced: true, cutRequests: 1 });
    expect(report.durationMs).toBeGreaterThanOrEqual(245);
    expect(exit.codes).toEqual([1]);
    const warning = logger.entries.find((e) => e.level === 'warn' && e.msg.startsWith('shutdown timeout'));
    expect(warning?.obj).toMatchObject({ cutRequests: 1, cut: [{ method: 'GET', url: '/hang' }] });
    expect(JSON.stringify(warning)).not.toContain('s3cret');
    const [cut] = (warning?.obj.cut ?? []) as { ageMs: number }[];
    expect(cut?.ageMs).toBeGreaterThanOrEqual(260);
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
    const { shutdown, exit } = shutdownFor(server, { drainDelay: 10, timeout: 100, hookTimeout: 100 });
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

    const report = await shutdown.shutdown();
    expect(ran).toEqual(['logs', 'hang', 'broken', 'db']);
    expect(report.hooks.map(({ name, ok, error }) => ({ name, ok, error }))).toEqual([
      { name: 'logs', ok: true, error: undefined },
      { name: 'hang', ok: false, error: 'timed out after 50 ms' },
      { name: 'broken', ok: false, error: 'flush failed' },
      { name: 'db', ok: true, error: undefined },
    ]);
    expect(report.hooks[1]?.ms).toBeGreaterThanOrEqual(45);
    expect(report.hooks[1]?.ms).toBeLessThan(250);
    expect(hangSignal?.aborted).toBe(true);
    expect(report).toMatchObject({ forced: true, cutRequests: 0 });
    expect(exit.codes).toEqual([1]);
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
    await sleep(30);
    expect(await value('nines_http_requests_in_flight')).toBe(1);
    expect(await value('nines_shutdown_in_progress')).toBe(0);
    const done = shutdown.shutdown();
    expect(await value('nines_shutdown_in_progress')).toBe(1);
    await slow;
    await done;
    expect(await value('nines_http_requests_in_flight')).toBe(0);
    expect(await value('nines_shutdown_in_progress')).toBe(0);
  });
});
