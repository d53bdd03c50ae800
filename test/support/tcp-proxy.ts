import { connect, createServer, type Socket } from 'node:net';

/** How the proxy treats traffic: forwards it, refuses connections, or swallows everything (a partition). */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

/**
 * A TCP proxy on loopback in front of a real server (PostgreSQL, Redis), to cut the network to it
 * for real: `refuse` resets every connection, `blackhole` keeps them open and delivers nothing.
 */
export async function tcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  let mode: ProxyMode = 'pass';
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    client.on('error', () => {}); // a reset the proxy made, or the client's own
    if (mode === 'refuse') return client.resetAndDestroy();
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (mode === 'pass') to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    /** Switches how traffic is treated; `refuse` also resets the connections already open. */
    set(next: ProxyMode): void {
      mode = next;
      if (next !== 'refuse') return;
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
    },
    close(): Promise<void> {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
