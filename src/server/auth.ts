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
 * Route options for every state-changing endpoint: the `writes` allowance of `server.rateLimit`
 * per client address (spent before the token is checked, so guessing it is slow too), then the
 * bearer token.
 */
export function writeRoute(monitor: Monitor): Pick<RouteShorthandOptions, 'preHandler' | 'config'> {
  return { preHandler: requireToken(monitor), config: { rateLimit: 'writes' } };
}

/**
 * Route options for reads that show holders of the token more (internal incident updates): a
 * request with an `Authorization` header spends `writes` and is checked as a write is (401 when
 * the token is wrong), so a read is no cheaper way to guess the token; one without reads the
 * public part, as any read. With no token configured the header is ignored: there is nothing more
 * to show.
 */
export function tokenOptionalRoute(monitor: Monitor): Pick<RouteShorthandOptions, 'preHandler' | 'config'> {
  const check = requireToken(monitor);
  return {
    preHandler: async (request, reply) => {
      if (request.headers.authorization !== undefined && monitor.config.server.token !== undefined) return check(request, reply);
    },
    config: { rateLimit: (request) => (request.headers.authorization === undefined ? 'reads' : 'writes') },
  };
}

/**
 * Route options for public state-changing endpoints (`POST /subscribe`): no token, but the
 * `publicWrites` allowance, tighter than writes, since each may send a message to an address a
 * visitor chose.
 */
export function publicWriteRoute(): Pick<RouteShorthandOptions, 'config'> {
  return { config: { rateLimit: 'publicWrites' } };
}

/**
 * Route options for public writes authorised by a random token in their link (confirm,
 * unsubscribe): no bearer token, the `writes` allowance, which guessing 256 bits does not need but
 * a flood of lookups does.
 */
export function linkRoute(): Pick<RouteShorthandOptions, 'config'> {
  return { config: { rateLimit: 'writes' } };
}
