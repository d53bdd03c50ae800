import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkFunction } from '../../core/validate.js';
import { type FastifyGatePlugin, skipOverride } from '../http/fastify-like.js';
import type { LoadShedder } from './load-shedder.js';
import type { Priority } from './priority.js';

/** Options of {@link loadShedHandler}. */
export interface LoadShedHandlerOptions {
  /** The priority of a request (health probes `critical`, say). Default: every request is `normal`. */
  priority?: (req: IncomingMessage) => Priority;
}

/** Express middleware and node:http gate (`next` runs the app); also a Fastify plugin via `.fastify`. */
export interface LoadShedHandler {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  /** Register with `fastify.register(handler.fastify)`: an `onRequest` hook for every route. */
  fastify: FastifyGatePlugin;
  /** The shedder deciding. */
  shedder: LoadShedder;
}

/** The 503 a shed request gets: its headers (content-length included) and its problem+json body (RFC 9457). */
export function shedResponse(retryAfterMs: number): { status: 503; headers: Record<string, string>; body: string } {
  const seconds = Math.ceil(retryAfterMs / 1000);
  const body = JSON.stringify({
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    detail: `The server is overloaded; retry after ${seconds} s.`,
  });
  return {
    status: 503,
    headers: {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      'retry-after': String(seconds),
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  };
}

const normal = (): Priority => 'normal';

/**
 * Sheds requests before the process is overwhelmed: a shed request is answered at once with 503,
 * `Retry-After` and an `application/problem+json` body (prebuilt: shedding costs almost nothing),
 * an admitted one counts as in flight until its response closes. Put it before the routes: node:http
 * `createServer((req, res) => shed(req, res, () => app(req, res)))`, Express `app.use(shed)`,
 * Fastify `app.register(shed.fastify)`.
 */
export function loadShedHandler(shedder: LoadShedder, options: LoadShedHandlerOptions = {}): LoadShedHandler {
  checkFunction('priority', options.priority);
  const priorityOf = options.priority ?? normal;
  const shed = shedResponse(shedder.retryAfterMs);
  const shedBody = Buffer.from(shed.body); // a Buffer: Fastify would add a charset to a string's content-type
  const handler = ((req, res, next) => {
    const admission = shedder.admit(priorityOf(req));
    if (!admission.admitted) {
      res.writeHead(shed.status, shed.headers);
      res.end(req.method === 'HEAD' ? undefined : shedBody);
      return;
    }
    // 'close' follows 'finish' and also comes when the client goes away: one listener covers both.
    res.once('close', () => admission.release());
    next();
  }) as LoadShedHandler;
  handler.shedder = shedder;
  const plugin = ((instance, _options, done) => {
    instance.addHook('onRequest', (request, reply, hookDone) => {
      const admission = shedder.admit(priorityOf(request.raw));
      if (!admission.admitted) {
        reply.code(shed.status).headers(shed.headers).send(shedBody); // answered here: done() is not called
        return;
      }
      reply.raw.once('close', () => admission.release());
      hookDone();
    });
    done();
  }) as FastifyGatePlugin;
  handler.fastify = skipOverride(plugin);
  return handler;
}
