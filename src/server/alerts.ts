import type { FastifyInstance } from 'fastify';
import type { ServerContext } from './context.js';
import { iso } from './time.js';

const LIMIT_QUERY = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
  additionalProperties: false,
} as const;

/** `GET /api/alerts`: the pending and firing alerts nines holds, oldest first, as Prometheus' /api/v1/alerts lists them; and the dead letters. */
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
      // the silences and maintenance windows that keep it from being announced now
      silencedBy: a.silencedBy ?? [],
    })),
  }));

  /** `GET /api/notifications/dead-letters?limit=`: what no receiver took after every attempt, newest first, with the body that was not delivered. */
  app.get<{ Querystring: { limit: number } }>(
    '/api/notifications/dead-letters',
    { schema: { querystring: LIMIT_QUERY } },
    async (request) => {
      const letters = (await ctx.deadLetters?.(request.query.limit)) ?? [];
      return {
        items: letters.map((l) => ({
          id: l.id,
          receiver: l.receiver,
          createdAt: iso(l.createdAt),
          attempts: l.attempts,
          error: l.error,
          body: JSON.parse(l.body) as unknown,
        })),
      };
    },
  );
}
