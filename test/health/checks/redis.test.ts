import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redis } from '../../../src/health/checks/index.js';
import { hasRedis, redisUrl } from '../../support/services.js';
import { abortAfter, closedPort, hangingServer, settle, socketsSettled, tcpSockets } from './support.js';

const available = await hasRedis();

describe.runIf(available)('redis check (real Redis)', () => {
  let baseline: number;

  beforeAll(async () => {
    baseline = await socketsSettled(tcpSockets());
  });

  afterEach(async () => {
    expect(await socketsSettled(baseline)).toBe(baseline);
  });

  it('passes through a URL, on a connection of its own that it closes', async () => {
    const result = await settle(redis(redisUrl));
    expect(result.status).toBe('healthy');
    expect(result.details).toMatchObject({
      pingMs: expect.any(Number),
      usedMemoryBytes: expect.any(Number),
      maxMemoryBytes: expect.any(Number),
      connectedClients: expect.any(Number),
    });
    expect(result.details?.usedMemoryBytes).toBeGreaterThan(0);
    expect(result.details?.connectedClients).toBeGreaterThanOrEqual(1);
    expect(await socketsSettled(baseline)).toBe(baseline);
  });

  it('passes through an ioredis client, which it leaves connected', async () => {
    const client = new Redis(redisUrl);
    try {
      const result = await settle(redis(client));
      expect(result.status).toBe('healthy');
      expect(result.details?.pingMs).toBeGreaterThan(0);
      expect(client.status).toBe('ready');
    } finally {
      client.disconnect();
    }
  });

  it('selects the database of the URL', async () => {
    const url = new URL(redisUrl);
    url.pathname = '/1';
    expect((await settle(redis(url.href))).status).toBe('healthy');
    url.pathname = '/9999';
    expect((await settle(redis(url.href))).error).toMatch(/DB index is out of range/);
  });

  it('fails on a wrong password with an AUTH error that does not show it', async () => {
    const url = new URL(redisUrl);
    url.password = 'secret';
    const result = await settle(redis(url.href));
    expect(result.status).toBe('unhealthy');
    expect(result.error).toMatch(/^AUTH failed: /);
    expect(result.error).not.toContain('secret');
  });

  it('fails with the connect error on a closed port', async () => {
    const port = await closedPort();
    const result = await settle(redis(`redis://:secret@127.0.0.1:${port}`));
    expect(result.error).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('stops and disconnects when a server never answers', async () => {
    const hung = await hangingServer();
    try {
      const result = await abortAfter(redis(`redis://127.0.0.1:${hung.port}`));
      expect(result.error).toMatch(/aborted/i);
    } finally {
      await hung.close();
    }
  });

  it('validates its arguments, redacting a URL it shows', () => {
    expect(() => redis('http://:hunter22secret@h')).toThrow(
      /^clientOrUrl must be an ioredis client or a redis:\/\/ URL, got "http:\/\/:\*\*\*@h\/"$/,
    );
    expect(() => redis('redis://h/abc')).toThrow(/database in the URL path must be a number/);
    expect(() => redis({} as Redis)).toThrow(/^clientOrUrl must be/);
    expect(() => redis(redisUrl, { connectTimeout: 0 })).toThrow(/^connectTimeout must be/);
  });
});
