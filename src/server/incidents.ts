import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncidentRecord, UpdateStatus, UpdateVisibility } from '../monitor/history.js';
import { carriesToken, tokenOptionalRoute, writeRoute } from './auth.js';
import { findComponent } from './components.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { ACKNOWLEDGE_BODY, ID_PARAMS, INCIDENTS_QUERY, POSTMORTEM_BODY, UPDATE_BODY } from './schemas.js';
import { parseTime } from './time.js';
import { incidentView, updateView } from './views.js';

/** How many recent incidents `GET /incidents` lists. */
const RECENT = 20;

/** Query of `GET /api/incidents`. */
interface IncidentsQuery {
  component?: string;
  since?: string;
  limit: number;
  before?: number;
}

interface IdParams {
  id: number;
}

/** Body of `POST /api/incidents/:id/updates` (validated by UPDATE_BODY). */
interface UpdateBody {
  message: string;
  visibility: UpdateVisibility;
  status?: UpdateStatus;
  by?: string;
}

/** `incidents` as the API shows them, with their notes; internal updates only for a request with the token. */
async function views(ctx: ServerContext, request: FastifyRequest, incidents: readonly IncidentRecord[]) {
  const notes = await ctx.history.incidentNotes(
    incidents.map((i) => i.id),
    { internal: carriesToken(ctx.monitor, request) },
  );
  const now = ctx.clock.now();
  return incidents.map((i) => incidentView(i, now, notes.get(i.id)));
}

/** The incident `id` as the API shows it, or a 404. */
async function oneView(ctx: ServerContext, request: FastifyRequest, incident: IncidentRecord | undefined, id: number) {
  if (incident === undefined) throw new HttpError(404, `unknown incident: ${id}`);
  const [view] = await views(ctx, request, [incident]);
  return view;
}

/** `url` if it is an http(s) URL without credentials (it is shown on the status page), else a 400. */
function postmortemUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const problem =
    parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      ? 'must be an http or https URL'
      : parsed.username !== '' || parsed.password !== ''
        ? 'must not hold a user name or password: it is shown on the status page'
        : undefined;
  if (problem !== undefined) throw new HttpError(400, 'invalid request', [{ in: 'body', path: 'url', message: problem }]);
  return (parsed as URL).href;
}

/**
 * `GET /api/incidents` (filtered, paginated), `GET /api/incidents/:id` and `GET /incidents`
 * (active and recent), each incident with its acknowledgement, postmortem and updates; and the
 * writes of people: acknowledge, add an update, link the postmortem.
 */
export function incidentRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const reads = tokenOptionalRoute(ctx.monitor);

  app.get<{ Querystring: IncidentsQuery }>('/api/incidents', { schema: { querystring: INCIDENTS_QUERY }, ...reads }, async (request) => {
    const { component, since, limit, before } = request.query;
    if (component !== undefined) findComponent(ctx, component);
    const page = await ctx.history.incidents({
      limit,
      ...(component === undefined ? {} : { component }),
      ...(since === undefined ? {} : { since: parseTime(since, 'since') }),
      ...(before === undefined ? {} : { before }),
    });
    return { items: await views(ctx, request, page.items), next: page.next };
  });

  app.get<{ Params: IdParams }>('/api/incidents/:id', { schema: { params: ID_PARAMS }, ...reads }, async (request) =>
    oneView(ctx, request, await ctx.history.incident(request.params.id), request.params.id),
  );

  app.get('/incidents', reads, async (request) => {
    const items = await views(ctx, request, (await ctx.history.incidents({ limit: RECENT })).items);
    return { active: items.filter((i) => i.active === true), recent: items.filter((i) => i.active !== true) };
  });

  app.post<{ Params: IdParams; Body: { by?: string } }>(
    '/api/incidents/:id/acknowledge',
    {
      schema: { params: ID_PARAMS, body: ACKNOWLEDGE_BODY },
      // the body may be left out: nothing to say but "mine"
      preValidation: async (request) => {
        request.body ??= {};
      },
      ...writeRoute(ctx.monitor),
    },
    async (request) => {
      const { id } = request.params;
      return oneView(ctx, request, await ctx.monitor.notebook.acknowledge(id, request.body.by), id);
    },
  );

  app.post<{ Params: IdParams; Body: UpdateBody }>(
    '/api/incidents/:id/updates',
    { schema: { params: ID_PARAMS, body: UPDATE_BODY }, ...writeRoute(ctx.monitor) },
    async (request, reply) => {
      const { id } = request.params;
      const update = await ctx.monitor.notebook.addUpdate(id, request.body);
      if (update === undefined) throw new HttpError(404, `unknown incident: ${id}`);
      return reply.code(201).send(updateView(update));
    },
  );

  app.put<{ Params: IdParams; Body: { url: string } }>(
    '/api/incidents/:id/postmortem',
    { schema: { params: ID_PARAMS, body: POSTMORTEM_BODY }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const { id } = request.params;
      return oneView(ctx, request, await ctx.monitor.notebook.setPostmortem(id, postmortemUrl(request.body.url)), id);
    },
  );
}
