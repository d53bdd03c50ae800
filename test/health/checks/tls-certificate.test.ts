import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tlsCertificate } from '../../../src/health/checks/index.js';
import { ManualClock } from '../../../src/policy/index.js';
import { abortAfter, certificate, closedPort, DAY, hangingServer, httpsServer, settle, socketsSettled, tcpSockets } from './support.js';

type Server = Awaited<ReturnType<typeof httpsServer>>;
let baseline: number;
let fresh: Server; // 90 days left
let soon: Server; // 5 days left
let month: Server; // 20 days left
let expired: Server;

beforeAll(async () => {
  const now = Date.now();
  const serve = async (from: number, to: number) => httpsServer(await certificate(new Date(from), new Date(to)));
  fresh = await serve(now - DAY, now + 90 * DAY);
  soon = await serve(now - DAY, now + 5 * DAY + 3_600_000);
  month = await serve(now - DAY, now + 20 * DAY + 3_600_000);
  expired = await serve(now - 30 * DAY, now - DAY);
  baseline = tcpSockets();
});

// checked while the servers are up: closing them would also close a socket a check leaked
afterEach(async () => {
  expect(await socketsSettled(baseline)).toBe(baseline);
});

afterAll(async () => {
  await Promise.all([fresh, soon, month, expired].map((s) => s.close()));
});

describe('tlsCertificate check', () => {
  it('reads a self-signed certificate (expiry, not trust, is its job) and reports it', async () => {
    const result = await settle(tlsCertificate('localhost', { port: fresh.port }));
    expect(result.status).toBe('healthy');
    expect(result.details).toMatchObject({ daysLeft: 89, subject: 'CN=localhost', issuer: 'CN=localhost', authorized: false });
    expect(result.details?.authorizationError).toMatch(/SELF_SIGNED/);
    expect(new Date(result.details?.validTo as string).getTime()).toBeGreaterThan(Date.now() + 89 * DAY);
  });

  it('counts days left from its clock: a ManualClock N days and an hour before expiry reads N, and past it expired', async () => {
    const validTo = new Date((await settle(tlsCertificate('localhost', { port: fresh.port }))).details?.validTo as string).getTime();
    for (const days of [0, 3, 40, 89]) {
      const clock = new ManualClock(validTo - days * DAY - 3_600_000);
      const result = await settle(tlsCertificate('localhost', { port: fresh.port, minDaysLeft: 2, degradedDaysLeft: 0, clock }));
      expect(result.details?.daysLeft, `${days} days before`).toBe(days);
      expect(result.status).toBe(days < 2 ? 'unhealthy' : 'healthy');
    }
    const after = await settle(tlsCertificate('localhost', { port: fresh.port, clock: new ManualClock(validTo + 1) }));
    expect(after.error).toBe(`certificate expired on ${new Date(validTo).toISOString()}`);
  });

  it('works with an IP address (and then sends no SNI)', async () => {
    expect((await settle(tlsCertificate('127.0.0.1', { port: fresh.port }))).status).toBe('healthy');
  });

  it('is unhealthy when fewer than minDaysLeft days are left', async () => {
    const result = await settle(tlsCertificate('localhost', { port: soon.port, minDaysLeft: 14 }));
    expect(result).toMatchObject({
      status: 'unhealthy',
      error: 'certificate expires in 5 days (minDaysLeft 14)',
      details: { daysLeft: 5 },
    });
  });

  it('is degraded under twice minDaysLeft (or degradedDaysLeft)', async () => {
    const result = await settle(tlsCertificate('localhost', { port: month.port, minDaysLeft: 14 }));
    expect(result).toMatchObject({ status: 'degraded', error: 'certificate expires in 20 days (degradedDaysLeft 28)' });
    expect((await settle(tlsCertificate('localhost', { port: month.port, degradedDaysLeft: 0 }))).status).toBe('healthy');
  });

  it('is unhealthy when the certificate has expired', async () => {
    const result = await settle(tlsCertificate('localhost', { port: expired.port }));
    expect(result.status).toBe('unhealthy');
    expect(result.error).toMatch(/^certificate expired on \d{4}-/);
  });

  it('fails on an untrusted certificate when rejectUnauthorized is set', async () => {
    const result = await settle(tlsCertificate('localhost', { port: fresh.port, rejectUnauthorized: true }));
    expect(result.status).toBe('unhealthy');
    expect(result.error).toMatch(/self-signed certificate/);
  });

  it('fails with the connect error on a closed port', async () => {
    const port = await closedPort();
    expect((await settle(tlsCertificate('127.0.0.1', { port }))).error).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('stops when the server never completes the handshake', async () => {
    const hung = await hangingServer();
    try {
      const result = await abortAfter(tlsCertificate('127.0.0.1', { port: hung.port }));
      expect(result.error).toMatch(/aborted/i);
    } finally {
      await hung.close();
    }
  });

  it('validates its options', () => {
    expect(() => tlsCertificate('')).toThrow(/^host must be/);
    expect(() => tlsCertificate('example.com', { port: 70_000 })).toThrow(/^port must be/);
    expect(() => tlsCertificate('example.com', { minDaysLeft: -1 })).toThrow(/^minDaysLeft must be/);
    expect(() => tlsCertificate('example.com', { degradedDaysLeft: Number.NaN })).toThrow(/^degradedDaysLeft must be/);
    expect(() => tlsCertificate('example.com', { servername: '' })).toThrow(/^servername must be/);
  });
});
