import type { IncomingMessage, ServerResponse } from 'node:http';

/** The part of a Fastify request nines' HTTP gates use (no dependency on Fastify's types). */
export interface FastifyRequestLike {
  readonly raw: IncomingMessage;
}

/** The part of a Fastify reply nines' HTTP gates use. */
export interface FastifyReplyLike {
  readonly raw: ServerResponse;
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body: Buffer): unknown;
}

/** A Fastify `onRequest` hook: for one route's `onRequest` option, or to call from a hook of your own. */
export type FastifyGateHook = (request: FastifyRequestLike, reply: FastifyReplyLike, done: (error?: Error) => void) => void;

/** The part of Fastify nines' HTTP gates use. */
export interface FastifyHooksLike {
  addHook(name: 'onRequest', hook: FastifyGateHook): unknown;
}

/** A Fastify plugin marked `skip-override` (as `fastify-plugin` marks them), so its hook applies to every route of the instance. */
export type FastifyGatePlugin = (instance: FastifyHooksLike, options: unknown, done: (error?: Error) => void) => void;

/** Marks `plugin` `skip-override` and returns it. */
export function skipOverride(plugin: FastifyGatePlugin): FastifyGatePlugin {
  Object.defineProperty(plugin, Symbol.for('skip-override'), { value: true });
  return plugin;
}
