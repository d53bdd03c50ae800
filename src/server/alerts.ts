import type { FastifyInstance } from 'fastify';
import type { ServerContext } from './context.js';
import { iso } from './time.js';

/** `GET /api/alerts`: the pending and firing alerts nines holds, oldest first, as Prometheus' /api/v1/alerts lists them. */
export function alertRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/alerts', async () => ({
    alerts: (ctx.alerts?.active() ?? []).map((a) => ({
      fingerprint: a.fingerprint,
      labels: a.labels,
      annotations: a.annotations,
      state: a.state,
      activeAt: iso(a.activeAt),
      firedAt: iso(a.firedAt),
      lastSentAt: iso(a.sentAt),
    })),
  }));
}
