import { describe, expect, it } from 'vitest';
import { healthHandler } from '../../src/health/endpoints.js';
import { HealthCheckRegistry } from '../../src/health/registry.js';
import { GracefulShutdown } from '../../src/lifecycle/index.js';
import { listen } from '../support/http.js';

describe('probes with GracefulShutdown', () => {
  it('readiness answers 503 on a new connection while the server still accepts, then the listener closes', async () => {
    const registry = new HealthCheckRegistry().register('db', () => undefined, { critical: true });
    const exits: number[] = [];
    const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const shutdown = new GracefulShutdown({
      drainDelay: 300,
      timeout: 500,
      handleSignals: false,
      exit: (c) => exits.push(c),
      logger: silent,
    });
    const handler = healthHandler(registry, { shutdown });
    const { url, server } = await listen(handler);
    shutdown.addServer(server);

    const ready = await fetch(`${url}/readiness`);
    expect(ready.status).toBe(200);

    const done = shutdown.shutdown('test');
    const during = await fetch(`${url}/readiness`); // a fresh connection: still accepted
    expect(during.status).toBe(503);
    expect(during.headers.get('connection')).toBe('close');
    expect(await during.text()).toBe('shutting down');
    expect(server.listening).toBe(true);

    const report = await done;
    expect(report.forced).toBe(false);
    expect(exits).toEqual([0]);
    expect(server.listening).toBe(false);
    await expect(fetch(`${url}/readiness`)).rejects.toThrow();
    handler.close();
  });
});
