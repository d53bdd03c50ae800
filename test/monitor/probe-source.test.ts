import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ComponentConfig, configSchema } from '../../src/config/index.js';
import { createProbe } from '../../src/monitor/probe.js';
import { certificate, DAY } from '../health/checks/support.js';
import { listen } from '../support/http.js';

/** A validated component, as the config loader would build it. */
function component(check: Record<string, unknown>): ComponentConfig {
  const [first] = configSchema.parse({ components: [{ name: 'target', check }] }).components;
  if (!first) throw new Error('no component');
  return first;
}

/** Client addresses each server saw, in order. */
const seen = { http: [] as string[], tcp: [] as string[], tls: [] as string[] };

let http: Awaited<ReturnType<typeof listen>>;
let https: Awaited<ReturnType<typeof listen>>;
let tcp: Server;
let tcpPort: number;
const sockets = new Set<Socket>();

beforeAll(async () => {
  http = await listen((req, res) => {
    seen.http.push(req.socket.remoteAddress ?? '');
    res.end('ok');
  });
  const pems = await certificate(new Date(Date.now() - DAY), new Date(Date.now() + 90 * DAY));
  const tlsServer = createHttpsServer(pems, (_req, res) => res.end('ok'));
  // the TCP connection: the check drops the socket right after its handshake, before the server's side completes
  tlsServer.on('connection', (socket: Socket) => seen.tls.push(socket.remoteAddress ?? ''));
  https = await listen(tlsServer);
  tcp = createNetServer((socket) => {
    seen.tcp.push(socket.remoteAddress ?? '');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  tcpPort = (tcp.address() as AddressInfo).port;
});

afterAll(async () => {
  await http.close();
  await https.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
});

beforeEach(() => {
  seen.http.length = 0;
  seen.tcp.length = 0;
  seen.tls.length = 0;
});

/** The server side sees a connection a tick after the client does. */
async function waitFor(list: string[]): Promise<string[]> {
  const deadline = Date.now() + 2000;
  while (list.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return list;
}

const checks = {
  http: () => ({ type: 'http', url: `${http.url}/` }),
  tcp: () => ({ type: 'tcp', host: '127.0.0.1', port: tcpPort }),
  tlsCertificate: () => ({ type: 'tlsCertificate', host: '127.0.0.1', port: https.port }),
};
const seenBy = { http: seen.http, tcp: seen.tcp, tlsCertificate: seen.tls };

describe('probe sourceAddress', () => {
  for (const type of ['http', 'tcp', 'tlsCertificate'] as const) {
    it(`${type}: connects from the given local address`, async () => {
      const result = await createProbe(component(checks[type]()), { sourceAddress: '127.0.0.3' })();
      expect(result.status, result.error).toBe('healthy');
      expect(await waitFor(seenBy[type])).toEqual(['127.0.0.3']);
    });

    it(`${type}: without it, the system picks the address`, async () => {
      const result = await createProbe(component(checks[type]()))();
      expect(result.status, result.error).toBe('healthy');
      expect(await waitFor(seenBy[type])).toEqual(['127.0.0.1']);
    });

    it(`${type}: an address not on this machine is an unhealthy result, not a crash`, async () => {
      const result = await createProbe(component(checks[type]()), { sourceAddress: '192.0.2.1' })();
      expect(result.status).toBe('unhealthy');
      expect(result.error).toMatch(/bind EADDRNOTAVAIL 192\.0\.2\.1/);
      expect(seenBy[type]).toEqual([]);
    });
  }

  it('a host name resolves to the source family (localhost from 127.0.0.2)', async () => {
    const result = await createProbe(component({ type: 'http', url: `http://localhost:${http.port}/` }), { sourceAddress: '127.0.0.2' })();
    expect(result.status, result.error).toBe('healthy');
    expect(await waitFor(seen.http)).toEqual(['127.0.0.2']);
  });

  it('an address that is not an IP is an unhealthy result naming it', async () => {
    for (const type of ['http', 'tcp', 'tlsCertificate'] as const) {
      const result = await createProbe(component(checks[type]()), { sourceAddress: 'not-an-ip' })();
      expect(result.status).toBe('unhealthy');
      expect(result.error).toMatch(/localAddress must be an IPv4 or IPv6 address, got "not-an-ip"/);
    }
  });

  it('the other checks ignore it', async () => {
    const result = await createProbe(component({ type: 'memory', maxHeapRatio: 1 }), { sourceAddress: '192.0.2.1' })();
    expect(result.status, result.error).toBe('healthy');
  });
});
