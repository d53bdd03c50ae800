import type { FastifyInstance } from 'fastify';
import { findComponent } from './components.js';
import type { ServerContext } from './context.js';
import { INCIDENTS_QUERY } from './schemas.js';
import { parseTime } from './time.js';
import { incidentView } from './views.js';

/** How many recent incidents `GET /incidents` lists. */
const RECENT = 20;

/** Query of `GET /api/incidents`. */
interface IncidentsQuery {
  component?: string;
  since?: string;
  limit: number;
  before?: number;
}

/** `GET /api/incidents` (filtered, paginated) and `GET /incidents` (active and recent). */
export function incidentRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Querystring: IncidentsQuery }>('/api/incidents', { schema: { querystring: INCIDENTS_QUERY } }, async (request) => {
    const { component, since, limit, before } = request.query;
    if (component !== undefined) findComponent(ctx, component);
    const page = await ctx.history.incidents({
      limit,
      ...(component === undefined ? {} : { component }),
      ...(since === undefined ? {} : { since: parseTime(since, 'since') }),
      ...(before === undefined ? {} : { before }),
    });
    const now = ctx.clock.now();
    return { items: page.items.map((i) => incidentView(i, now)), next: page.next };
  });

  app.get('/incidents', async () => {
    const page = await ctx.history.incidents({ limit: RECENT });
    const now = ctx.clock.now();
    const items = page.items.map((i) => incidentView(i, now));
    return { active: items.filter((i) => i.active === true), recent: items.filter((i) => i.active !== true) };
  });
}
