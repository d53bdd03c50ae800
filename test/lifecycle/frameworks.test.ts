import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { GracefulShutdown } from '../../src/lifecycle/index.js';
import { exitRecorder, get, memoryLogger, sleep, tryConnect } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function newShutdown() {
  const exit = exitRecorder();
  const shutdown = new GracefulShutdown({ drainDelay: 150, timeout: 1_000, handleSignals: false, exit, logger: memoryLogger() });
  cleanups.push(() => shutdown.dispose());
  return { shutdown, exit };
}

describe('frameworks', () => {
  it('drains an Express app (the Server from app.listen())', async () => {
    const app = express();
    app.get('/slow', (_req, res) => void setTimeout(() => res.send('slow'), 500));
    app.get('/', (_req, res) => void res.send('ok'));
    const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(() => server.closeAllConnections());
    const port = (server.address() as AddressInfo).port;
    const { shutdown, exit } = newShutdown();
    shutdown.addServer(server);

    const slow = get(port, '/slow');
    await sleep(20);
    const done = shutdown.shutdown();
    expect(await get(port, '/')).toMatchObject({ status: 200, body: 'ok', connection: 'close' });
    await sleep(250);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(shutdown.inFlight).toBe(1);
    expect(await slow).toMatchObject({ status: 200, body: 'slow', connection: 'close' });
    expect(await done).toMatchObject({ forced: false, cutRequests: 0 });
    expect(exit.codes).toEqual([0]);
  });

  it('drains a Fastify instance (passed as the instance, read through .server)', async () => {
    const app = Fastify();
    app.get('/slow', async () => {
      await sleep(500);
      return 'slow';
    });
    app.get('/', async () => 'ok');
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close().catch(() => undefined));
    const port = (app.server.address() as AddressInfo).port;
    const { shutdown, exit } = newShutdown();
    shutdown.addServer(app);
    shutdown.addServer(app.server); // the same server twice is tracked once

    const slow = get(port, '/slow');
    await sleep(20);
    expect(shutdown.inFlight).toBe(1);
    const done = shutdown.shutdown();
    expect(await get(port, '/')).toMatchObject({ status: 200, body: 'ok', connection: 'close' });
    await sleep(250);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(await slow).toMatchObject({ status: 200, body: 'slow', connection: 'close' });
    expect(await done).toMatchObject({ forced: false, cutRequests: 0 });
    expect(exit.codes).toEqual([0]);
  });
});
