import type { FastifyInstance } from 'fastify';
import { type SilenceRecord, type SilenceState, type Silences, silenceState } from '../alerts/silences.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { ID_PARAMS } from './schemas.js';
import { iso } from './time.js';

/** A silence as the API shows it: Alertmanager's gettable silence. */
function silenceView(s: SilenceRecord, now: number): Record<string, unknown> & { status: { state: SilenceState } } {
  return {
    id: s.id,
    matchers: s.matchers,
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdAt: iso(s.createdAt),
    createdBy: s.createdBy,
    comment: s.comment,
    status: { state: silenceState(s, now) },
  };
}

/**
 * `/api/silences`, shaped like Alertmanager's v2 API: list them (expired ones for 5 days), make
 * one by label matchers, expire one (bearer token for both writes). A silenced alert still fires and
 * is listed in `/api/alerts` with `silencedBy`; it is not announced.
 */
export function silenceRoutes(app: FastifyInstance, ctx: ServerContext & { silences: Silences }): void {
  const silences = ctx.silences;
  app.get('/api/silences', async () => ({ silences: silences.list().map((s) => silenceView(s, ctx.clock.now())) }));

  app.get<{ Params: { id: number } }>('/api/silences/:id', { schema: { params: ID_PARAMS } }, async (request) => {
    const s = silences.get(request.params.id);
    if (s === undefined) throw new HttpError(404, `unknown silence: ${request.params.id}`);
    return silenceView(s, ctx.clock.now());
  });

  app.post('/api/silences', writeRoute(ctx.monitor), async (request, reply) => {
    const made = await silences.add(request.body);
    if (!made.ok) throw new HttpError(400, 'invalid silence', made.problems);
    return reply.code(201).send({ silenceID: made.id });
  });

  app.delete<{ Params: { id: number } }>(
    '/api/silences/:id',
    { schema: { params: ID_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      if (!(await silences.expire(request.params.id))) throw new HttpError(404, `unknown silence: ${request.params.id}`);
      return silenceView(silences.get(request.params.id) as SilenceRecord, ctx.clock.now());
    },
  );
}
