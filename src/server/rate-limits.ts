import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Registry } from 'prom-client';
import type { ServerRateLimitConfig } from '../config/rate-limit.js';
import type { Clock } from '../core/clock.js';
import { rateLimitMetrics } from '../metrics/index.js';
import { clientKeyer, type FastifyGateHook, rateLimiter, rateLimitHandler } from '../ratelimit/index.js';

/** The allowances of `server.rateLimit` a route can spend. */
export type Allowance = 'writes' | 'publicWrites' | 'reads';

/** A route's `config.rateLimit`: its allowance, none (`false`), or one chosen per request. */
export type RouteLimit = Allowance | false | ((request: FastifyRequest) => Allowance | false);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The allowance of `server.rateLimit` the route spends; default `reads` (rate-limits.ts). */
    rateLimit?: RouteLimit;
  }
}

/** Route options of the endpoints and `/metrics`: never limited, so no client can make Kubernetes or Prometheus see a 429. */
export const UNLIMITED = { config: { rateLimit: false } } as const;

/** Limiter names, the `limiter` label of `nines_rate_limit_decisions_total`. */
const LIMITERS: Record<Allowance, string> = { writes: 'serve_writes', publicWrites: 'serve_public_writes', reads: 'serve_reads' };

/**
 * The `onRequest` hook limiting each client address by `server.rateLimit`: a route spends the
 * allowance its `config.rateLimit` names, `reads` unless it says otherwise, so a route added
 * without thought is limited, not open. It runs before the body is read and the token checked.
 */
export function rateLimitHook(config: ServerRateLimitConfig, options: { clock: Clock; registry: Registry }): onRequestHookHandler {
  const metrics = rateLimitMetrics(options.registry);
  const key = clientKeyer({ trustProxy: config.trustProxy });
  const gates = new Map<Allowance, FastifyGateHook>();
  for (const allowance of Object.keys(LIMITERS) as Allowance[]) {
    const { enabled, limit, window } = config[allowance];
    if (!enabled) continue;
    const limiter = rateLimiter({ name: LIMITERS[allowance], limit, windowDuration: window, clock: options.clock, metrics });
    gates.set(allowance, rateLimitHandler(limiter, { key, policy: allowance }).onRequest);
  }
  return (request, reply, done) => {
    const route = request.routeOptions.config.rateLimit ?? 'reads';
    const allowance = typeof route === 'function' ? route(request) : route;
    const gate = allowance === false ? undefined : gates.get(allowance);
    if (gate === undefined) done();
    else gate(request, reply, done);
  };
}
