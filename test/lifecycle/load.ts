/**
 * autocannon driven like a load balancer in front of a draining instance: it honours
 * `Connection: close` (never writes another request on that socket) and, once told the instance is
 * draining, opens no new connection to it. Every request is accounted for per connection, because
 * autocannon itself silently reconnects when a server closes a socket under a pending request.
 */

import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import autocannon from 'autocannon';

/** The autocannon 9 client internals this harness hooks into (lib/httpClient.js). */
interface CannonClient extends EventEmitter {
  conn: Socket;
  destroyed: boolean;
  destroy(): void;
  _connect(): void;
  _doRequest(): void;
  _resetConnection(): void;
}

export interface LoadStats {
  /** Requests written to a socket. */
  sent: number;
  ok2xx: number;
  non2xx: number;
  /** Requests on a connection the server refused (never accepted). */
  refused: number;
  /** Requests on a connection that had connected, closed or failed before its response: dropped. */
  lost: number;
  /** Requests still pending when the client itself closed the connection (autocannon stopping). */
  abandoned: number;
  /** Socket error codes seen. */
  errorCodes: string[];
  /** Connections opened. */
  connections: number;
  /** Connections opened after `drainStarted()`. */
  connectionsWhileDraining: number;
  /** Responses received after `drainStarted()`. */
  responsesWhileDraining: number;
  /** Responses that carried `Connection: close`. */
  connectionClose: number;
}

export interface Load {
  /** The instance began shutting down (its log said so): count what follows as "while draining". */
  drainStarted(): void;
  /** The balancer has taken the instance out: no new connections from now on. */
  stopNewConnections(): void;
  /** autocannon's result and this harness's accounting, once every client has stopped. */
  done: Promise<{ result: autocannon.Result; stats: LoadStats }>;
}

function hasConnectionClose(raw: string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === 'connection' && raw[i + 1]?.toLowerCase() === 'close') return true;
  }
  return false;
}

/** Runs autocannon against `port` for at most `duration` s; `keepAlive: false` asks for a new connection per request. */
export function runLoad(options: { port: number; path?: string; connections: number; duration: number; keepAlive: boolean }): Load {
  const stats: LoadStats = {
    sent: 0,
    ok2xx: 0,
    non2xx: 0,
    refused: 0,
    lost: 0,
    abandoned: 0,
    errorCodes: [],
    connections: 0,
    connectionsWhileDraining: 0,
    responsesWhileDraining: 0,
    connectionClose: 0,
  };
  let draining = false;
  let accepting = true;
  const pending = new Map<Socket, number>();
  const take = (conn: Socket) => {
    const n = pending.get(conn) ?? 0;
    pending.delete(conn);
    return n;
  };

  const watch = (conn: Socket) => {
    conn.on('error', (error: NodeJS.ErrnoException) => {
      stats.errorCodes.push(error.code ?? error.message);
      if (error.code === 'ECONNREFUSED') stats.refused += take(conn);
      else stats.lost += take(conn);
    });
    // The server ending a socket under a pending request is a drop; the client closing it is not.
    conn.on('end', () => (stats.lost += take(conn)));
    conn.on('close', () => (stats.abandoned += take(conn)));
  };

  const setupClient = (c: autocannon.Client) => {
    const client = c as unknown as CannonClient;
    let closeSeen = false;
    const connect = client._connect.bind(client);
    client._connect = () => {
      if (!accepting) return client.destroy();
      connect();
      stats.connections++;
      if (draining) stats.connectionsWhileDraining++;
      watch(client.conn);
    };
    const doRequest = client._doRequest.bind(client);
    client._doRequest = () => {
      if (!closeSeen) return doRequest();
      // Honour Connection: close: drop this socket and (while the balancer still sends here) open another.
      closeSeen = false;
      client._resetConnection();
    };
    client.on('headers', (info: { headers: string[] }) => {
      closeSeen = hasConnectionClose(info.headers);
      if (closeSeen) stats.connectionClose++;
    });
    client.on('request', () => {
      stats.sent++;
      pending.set(client.conn, (pending.get(client.conn) ?? 0) + 1);
    });
    client.on('response', (status: number) => {
      pending.set(client.conn, (pending.get(client.conn) ?? 1) - 1);
      if (status >= 200 && status < 300) stats.ok2xx++;
      else stats.non2xx++;
      if (draining) stats.responsesWhileDraining++;
    });
  };

  const done = new Promise<{ result: autocannon.Result; stats: LoadStats }>((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${options.port}${options.path ?? '/'}`,
        connections: options.connections,
        duration: options.duration,
        headers: options.keepAlive ? {} : { connection: 'close' },
        setupClient,
      },
      (error, result) => (error ? reject(error) : resolve({ result, stats })),
    );
  });
  return {
    drainStarted: () => {
      draining = true;
    },
    stopNewConnections: () => {
      accepting = false;
    },
    done,
  };
}
