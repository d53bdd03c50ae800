import { createServer, type RequestListener, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** Starts `server` (or a node:http server around `listener`) on a free loopback port. */
export async function listen<S extends Server | HttpsServer = Server>(
  serverOrListener: S | RequestListener,
): Promise<{ url: string; port: number; server: S; close: () => Promise<void> }> {
  const server = (typeof serverOrListener === 'function' ? createServer(serverOrListener) : serverOrListener) as S;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
