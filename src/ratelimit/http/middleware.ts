import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkFunction, checkInteger, checkString } from '../../core/validate.js';
import type { Decision } from '../decision.js';
import type { RateLimiter } from '../limiter.js';
import type { Answer } from '../store.js';
import { type ClientKeyOptions, clientKeyer } from './client-key.js';
import { type FastifyGateHook, type FastifyGatePlugin, skipOverride } from './fastify-like.js';
import { rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds, tooManyRequestsProblem } from './headers.js';

/** Options of {@link rateLimitHandler}. */
export interface RateLimitHandlerOptions extends ClientKeyOptions {
  /** The key of a request. Default: the client's address (`trustProxy`, `ipv6Prefix`). */
  key?: (req: IncomingMessage) => string | undefined;
  /** What a request costs. Default 1. */
  cost?: (req: IncomingMessage) => number;
  /** Requests never limited nor counted (health probes, say). */
  skip?: (req: IncomingMessage) => boolean;
  /** Keys never limited nor counted (a monitoring host's address). */
  allow?: readonly string[];
  /** The policy's name in `RateLimit-Policy` and `RateLimit`. Default `'default'`. */
  policy?: string;
  /** Also send `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds), for clients of the old convention. Default false. */
  legacyHeaders?: boolean;
  /** At most this many seconds added to `Retry-After` at random, so refused clients do not return in step. Default 1. */
  jitterSeconds?: number;
}

/** Express middleware and node:http gate (`next` runs the app); a Fastify plugin as `.fastify`. */
export interface RateLimitHandler {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  /** Register with `fastify.register(handler.fastify)`: an `onRequest` hook for every route. */
  fastify: FastifyGatePlugin;
  /** The same hook on its own, for some routes only: `{ onRequest: handler.onRequest }`. */
  onRequest: FastifyGateHook;
}

/** What one request gets: the headers to add, and when refused the 429 to send instead. */
interface Verdict {
  headers: Record<string, string>;
  refusal?: Buffer;
}

/**
 * Limits each client with `limiter`: every answer carries the IETF fields of
 * draft-ietf-httpapi-ratelimit-headers-10 (`RateLimit-Policy: "default";q=100;w=60` and
 * `RateLimit: "default";r=50;t=30`), a refused request gets 429 with `Retry-After` (never earlier
 * than the limiter allows, plus jitter) and an `application/problem+json` body. A failing store
 * (a rejected decision) lets the request through: the limiter's own insurance decides, not the
 * middleware. Put it before the routes, as {@link loadShedHandler}.
 */
export function rateLimitHandler<R extends Answer>(limiter: RateLimiter<R>, options: RateLimitHandlerOptions = {}): RateLimitHandler {
  for (const f of ['key', 'cost', 'skip'] as const) checkFunction(f, options[f]);
  const name = options.policy === undefined ? 'default' : checkString('policy', options.policy);
  const jitter = checkInteger('jitterSeconds', options.jitterSeconds ?? 1, 0, 3600);
  const keyOf = options.key ?? clientKeyer(options);
  const costOf = options.cost ?? (() => 1);
  const allowed = new Set(options.allow ?? []);
  const { limit, windowDuration } = limiter.algorithm;
  const policy = rateLimitPolicyHeader([{ name, quota: limit, windowSeconds: windowDuration / 1000 }]);

  const verdictOf = (d: Decision): Verdict => {
    const headers: Record<string, string> = {
      'ratelimit-policy': policy,
      ratelimit: rateLimitHeader([{ name, remaining: d.remaining, resetSeconds: d.resetMs / 1000 }]),
    };
    if (options.legacyHeaders) {
      headers['x-ratelimit-limit'] = String(d.limit);
      headers['x-ratelimit-remaining'] = String(Math.max(0, Math.floor(d.remaining)));
      headers['x-ratelimit-reset'] = String(Math.ceil(d.resetMs / 1000));
    }
    if (d.allowed) return { headers };
    const retryAfter = retryAfterSeconds(d.retryAfterMs, jitter);
    const refusal = Buffer.from(JSON.stringify(tooManyRequestsProblem(retryAfter)));
    headers['retry-after'] = String(retryAfter);
    headers['content-type'] = 'application/problem+json';
    headers['cache-control'] = 'no-store';
    headers['content-length'] = String(refusal.length);
    return { headers, refusal };
  };

  /**
   * The verdict of `req`, or undefined when it is not limited (skipped, allowed, no key, the store
   * failed); `fail` gets a bad `cost` (a bug of the app's, for its error handler).
   */
  const decide = (req: IncomingMessage, then: (v: Verdict | undefined) => void, fail: (error: unknown) => void): void => {
    const key = options.skip?.(req) === true ? undefined : keyOf(req);
    if (key === undefined || allowed.has(key)) {
      then(undefined);
      return;
    }
    let answer: R;
    try {
      answer = limiter.consume(key, costOf(req));
    } catch (error) {
      fail(error);
      return;
    }
    if (limiter.store.sync) {
      then(verdictOf(answer as Decision));
      return;
    }
    (answer as Promise<Decision>).then(
      (d) => then(verdictOf(d)),
      () => then(undefined),
    );
  };

  const handler = ((req, res, next) => {
    decide(
      req,
      (v) => {
        if (v === undefined) return next();
        if (v.refusal !== undefined) {
          res.writeHead(429, v.headers);
          res.end(req.method === 'HEAD' ? undefined : v.refusal);
          return;
        }
        for (const [h, value] of Object.entries(v.headers)) res.setHeader(h, value);
        next();
      },
      next,
    );
  }) as RateLimitHandler;
  const hook: FastifyGateHook = (request, reply, done) => {
    decide(
      request.raw,
      (v) => {
        if (v === undefined) return done();
        if (v.refusal !== undefined) {
          reply.code(429).headers(v.headers).send(v.refusal); // answered here: done() is not called
          return;
        }
        reply.headers(v.headers);
        done();
      },
      (error) => done(error as Error),
    );
  };
  const plugin = ((instance, _options, done) => {
    instance.addHook('onRequest', hook);
    done();
  }) as FastifyGatePlugin;
  handler.fastify = skipOverride(plugin);
  handler.onRequest = hook;
  return handler;
}
