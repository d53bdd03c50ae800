import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Monitor } from '../monitor/monitor.js';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Constant-time equality of two strings: their SHA-256 digests always have the same length. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** The bearer token `request` carries, or undefined. */
function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return (typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null)?.[1];
}

/** Does `request` carry the valid `server.token`? Always false when none is configured. */
export function carriesToken(monitor: Monitor, request: FastifyRequest): boolean {
  const token = monitor.config.server.token;
  const given = bearerOf(request);
  return token !== undefined && given !== undefined && safeEqual(given, token);
}

/**
 * A preHandler guarding state-changing routes with `Authorization: Bearer <server.token>`: 403
 * when no token is configured, 401 (with `WWW-Authenticate: Bearer`) when it is missing or wrong.
 * The token is read per request, so a reload takes effect, and it never appears in an answer.
 */
export function requireToken(monitor: Monitor) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = monitor.config.server.token;
    if (token === undefined) {
      return reply.code(403).send({ error: 'state-changing endpoints are disabled: configure server.token to enable them' });
    }
    const given = bearerOf(request);
    if (given === undefined) {
      return reply.code(401).header('www-authenticate', 'Bearer realm="nines"').send({ error: 'a bearer token is required' });
    }
    if (!safeEqual(given, token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="nines", error="invalid_token"')
        .send({ error: 'the bearer token is not valid' });
    }
  };
}

/**
 * Route options for every state-changing endpoint: rate limited per client address (before the
 * token is checked, so guessing it is slow too; `server.writeLimit`), then the bearer token.
 * Needs `@fastify/rate-limit` registered with `global: false` (app.ts does).
 */
export function writeRoute(monitor: Monitor): Pick<RouteShorthandOptions, 'preHandler' | 'config'> {
  const { max, window } = monitor.config.server.writeLimit;
  return { preHandler: requireToken(monitor), config: { rateLimit: { max, timeWindow: window } } };
}

/**
 * Route options for reads that show holders of the token more (internal incident updates): a
 * request with an `Authorization` header is rate limited and checked as a write is (401 when the
 * token is wrong), so a read is no cheaper way to guess the token; one without reads the public
 * part, unlimited. With no token configured the header is ignored: there is nothing more to show.
 */
export function tokenOptionalRoute(monitor: Monitor): Pick<RouteShorthandOptions, 'preHandler' | 'config'> {
  const { max, window } = monitor.config.server.writeLimit;
  const check = requireToken(monitor);
  return {
    preHandler: async (request, reply) => {
      if (request.headers.authorization !== undefined && monitor.config.server.token !== undefined) return check(request, reply);
    },
    config: { rateLimit: { max, timeWindow: window, allowList: (request) => request.headers.authorization === undefined } },
  };
}

/**
 * Route options for public state-changing endpoints (`POST /subscribe`): no token, but rate limited
 * per client address more tightly than writes (`server.publicWriteLimit`), since each may send a
 * message to an address a visitor chose.
 */
export function publicWriteRoute(monitor: Monitor): Pick<RouteShorthandOptions, 'config'> {
  const { max, window } = monitor.config.server.publicWriteLimit;
  return { config: { rateLimit: { max, timeWindow: window } } };
}

/**
 * Route options for public writes authorised by a random token in their link (confirm,
 * unsubscribe): no bearer token, rate limited as writes are (`server.writeLimit`), which guessing
 * 256 bits does not need but a flood of lookups does.
 */
export function linkRoute(monitor: Monitor): Pick<RouteShorthandOptions, 'config'> {
  const { max, window } = monitor.config.server.writeLimit;
  return { config: { rateLimit: { max, timeWindow: window } } };
}
