/** The three frameworks nines' HTTP gates (rate limit, load shedding) plug into, each serving routes behind a gate on loopback. */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import type { FastifyGatePlugin } from '../../src/ratelimit/http/fastify-like.js';
import { listen } from '../support/http.js';

/** A gate: node:http/Express middleware with its Fastify plugin. */
export interface Gate {
  (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void;
  fastify: FastifyGatePlugin;
}

/** Routes by path: what each answers (awaited). */
export type Routes = Record<string, () => string | Promise<string>>;

/** Serves `routes` behind `gate` on `framework`; a gate's error answers 500 'bug'. Resolves with the base URL. */
export async function serveGate(framework: string, gate: Gate, routes: Routes, cleanups: Array<() => unknown>): Promise<string> {
  if (framework === 'node:http') {
    const s = await listen((req, res) =>
      gate(req, res, (error) => {
        if (error) return void res.writeHead(500).end('bug');
        void Promise.resolve(routes[req.url ?? '/']?.() ?? 'none').then((b) => res.end(b));
      }),
    );
    cleanups.push(s.close);
    return s.url;
  }
  if (framework === 'Express') {
    const app = express();
    app.use(gate);
    for (const [path, route] of Object.entries(routes))
      app.get(path, (_req, res) => void Promise.resolve(route()).then((b) => res.send(b)));
    const s = await listen(app as unknown as RequestListener);
    cleanups.push(s.close);
    return s.url;
  }
  const app = Fastify();
  await app.register(gate.fastify);
  // registered outside the plugin: the hook still applies (skip-override)
  for (const [path, route] of Object.entries(routes)) app.get(path, async () => route());
  await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

export const FRAMEWORKS = ['node:http', 'Express', 'Fastify'];
