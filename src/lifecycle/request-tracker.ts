import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Clock } from '../core/clock.js';

/** A node:http or node:https server: Express's `app.listen()` returns one, Fastify exposes `fastify.server`. */
export type HttpServer = Server | HttpsServer;

/** A request still in progress. */
export interface InFlightRequest {
  /** HTTP method. */
  readonly method: string;
  /** Request target as received (path and query). */
  readonly url: string;
  /** When it arrived, in ms on the shutdown's clock. */
  readonly startedAt: number;
}

interface Entry extends InFlightRequest {
  readonly res: ServerResponse;
  readonly socket: Socket;
}

/**
 * Counts the requests in progress on one server. Once draining, every response not yet started
 * carries `Connection: close`; once closing, a socket is ended as soon as its last request is done.
 */
export class RequestTracker {
  /** The tracked server. */
  readonly server: HttpServer;
  readonly #clock: Clock;
  readonly #onChange: (delta: 1 | -1) => void;
  readonly #active = new Set<Entry>();
  #draining = false;
  #closing = false;
  #onIdle: (() => void) | undefined;

  /** Starts counting: the listener is prepended so it sees each request before the app does. */
  constructor(server: HttpServer, clock: Clock, onChange: (delta: 1 | -1) => void) {
    this.server = server;
    this.#clock = clock;
    this.#onChange = onChange;
    server.prependListener('request', this.#onRequest);
  }

  /** Requests in progress on this server. */
  get inFlight(): number {
    return this.#active.size;
  }

  /** The requests in progress, oldest first. */
  requests(): InFlightRequest[] {
    return [...this.#active].map(({ method, url, startedAt }) => ({ method, url, startedAt }));
  }

  /** Asks clients to go away: responses not yet started, and every later one, carry `Connection: close`. */
  drain(): void {
    this.#draining = true;
    for (const { res } of this.#active) markClose(res);
  }

  /**
   * Stops accepting connections and closes idle keep-alive sockets; resolves once the server has
   * closed and no request is in progress (never rejects: a server that was not listening counts as closed).
   */
  async close(): Promise<void> {
    this.drain();
    this.#closing = true;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      // server.close() does this itself since Node 19; said again for servers that override close.
      this.server.closeIdleConnections();
    });
    if (this.#active.size > 0) await new Promise<void>((resolve) => (this.#onIdle = resolve));
    // Keep-alive sockets of a server closed earlier by someone else would otherwise stay open.
    this.server.closeIdleConnections();
  }

  /** Destroys every connection of the server, busy or not. */
  destroyAll(): void {
    this.server.closeAllConnections();
  }

  /** Stops counting new requests; those in progress still count down as they end. */
  detach(): void {
    this.server.removeListener('request', this.#onRequest);
  }

  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#draining) markClose(res);
    // The path only: query strings can carry tokens, and this ends up in logs.
    const entry: Entry = {
      method: req.method ?? '',
      url: (req.url ?? '').split('?', 1)[0] ?? '',
      startedAt: this.#clock.now(),
      res,
      socket: req.socket,
    };
    this.#active.add(entry);
    this.#onChange(1);
    const done = () => this.#done(entry);
    // 'close' alone would do (it follows 'finish'), but 'finish' stops the count a tick earlier.
    res.on('finish', done);
    res.on('close', done);
  };

  #done(entry: Entry): void {
    if (!this.#active.delete(entry)) return;
    this.#onChange(-1);
    if (this.#closing) this.#endIfIdle(entry.socket);
    if (this.#active.size === 0 && this.#onIdle) {
      this.#onIdle();
      this.#onIdle = undefined;
    }
  }

  // A response whose headers went out before draining kept its socket alive: end that socket now,
  // unless a pipelined request still uses it. Node has already ended sockets of `Connection: close` responses.
  #endIfIdle(socket: Socket): void {
    if (socket.destroyed || socket.writableEnded) return;
    for (const other of this.#active) if (other.socket === socket) return;
    socket.destroySoon();
  }
}

function markClose(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
}
