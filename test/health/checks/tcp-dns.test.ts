import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dns, tcp } from '../../../src/health/checks/index.js';
import { closedPort, settle, socketsSettled, tcpServer, tcpSockets } from './support.js';

let baseline: number;
let server: Awaited<ReturnType<typeof tcpServer>>;

beforeAll(async () => {
  server = await tcpServer();
  baseline = tcpSockets();
});

// checked while the server is up: closing it would also close a socket a check leaked
afterEach(async () => {
  expect(await socketsSettled(baseline)).toBe(baseline);
});

afterAll(() => server.close());

describe('tcp check', () => {
  it('passes when the port accepts, and reports connectMs', async () => {
    const result = await settle(tcp('127.0.0.1', server.port));
    expect(result.status).toBe('healthy');
    expect(result.details?.connectMs).toBeGreaterThanOrEqual(0);
  });

  it('fails with the connect error on a closed port', async () => {
    const port = await closedPort();
    const result = await settle(tcp('127.0.0.1', port));
    expect(result).toMatchObject({ status: 'unhealthy', error: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it('fails on an unknown host', async () => {
    expect((await settle(tcp('nonexistent.invalid', 80))).error).toMatch(/ENOTFOUND nonexistent\.invalid/);
  });

  it('rejects at once with the reason when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    const result = await settle(tcp('127.0.0.1', server.port), controller.signal);
    expect(result.error).toBe('shutting down');
  });

  it('validates its arguments', () => {
    expect(() => tcp('', 80)).toThrow(/^host must be a non-empty string/);
    expect(() => tcp('localhost', 0)).toThrow(/^port must be a number between 1 and 65535/);
    expect(() => tcp('localhost', 80.5)).toThrow(/^port must be an integer/);
  });
});

describe('dns check', () => {
  it('resolves localhost and lists its addresses', async () => {
    const result = await settle(dns('localhost'));
    expect(result.status).toBe('healthy');
    const addresses = result.details?.addresses as string[];
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.some((a) => a === '127.0.0.1' || a === '::1')).toBe(true);
    expect(result.details?.ms).toBeGreaterThanOrEqual(0);
  });

  it('fails on an unknown host', async () => {
    const result = await settle(dns('nonexistent.invalid'));
    expect(result).toMatchObject({ status: 'unhealthy', error: 'getaddrinfo ENOTFOUND nonexistent.invalid' });
  });

  it('validates its argument', () => {
    expect(() => dns('')).toThrow(/^hostname must be a non-empty string/);
  });
});
