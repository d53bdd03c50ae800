import type { FastifyInstance } from 'fastify';
import type { ProbeCursor } from '../monitor/history.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { decodeCursor, encodeCursor } from './probe-cursor.js';
import { CHECKS_QUERY, NAME_PARAMS, type NameParams, WINDOW_QUERY } from './schemas.js';
import { evaluationInstant, iso, parseTime, TIME_SCHEMA, WINDOWS } from './time.js';
import { checkView, componentView, type FiguresView, figuresView } from './views.js';

/** The component `name`, or a 404. */
export function findComponent(ctx: ServerContext, name: string): ComponentStatus {
  const c = ctx.monitor.status().find((s) => s.name === name);
  if (c === undefined) throw new HttpError(404, `unknown component: ${name}`);
  return c;
}

const TIME = new RegExp(TIME_SCHEMA.pattern);

/** `?before=` of the checks list: a time (checks started before it) or a page's `next` cursor; else a 400. */
function parseBefore(value: string): number | ProbeCursor {
  if (TIME.test(value)) return parseTime(value, 'before');
  const cursor = decodeCursor(value);
  if (cursor === undefined) {
    throw new HttpError(400, 'invalid request', [{ in: 'querystring', path: 'before', message: 'must be a time or the next of a page' }]);
  }
  return cursor;
}

/** Figures and check stats of `name` over [from, to). */
async function windowView(ctx: ServerContext, name: string, label: string, from: number, to: number) {
  const figures = await ctx.history.figures(name, { from, to });
  if (figures === undefined) throw new HttpError(404, `unknown component: ${name}`);
  const stats = await ctx.history.probeStats(name, from, figures.to);
  return figuresView(label, figures, stats);
}

/**
 * Figures over 1h, 24h, 7d, 30d, all time and, when `?from`/`?to` are given, a custom window, all
 * ending at most at `now` (the request's `?at=`, else the clock's now).
 */
export async function allFigures(
  ctx: ServerContext,
  name: string,
  query: { from?: string; to?: string },
  now = ctx.clock.now(),
): Promise<Record<string, FiguresView>> {
  const out: Record<string, FiguresView> = {};
  for (const [label, ms] of Object.entries(WINDOWS)) out[label] = await windowView(ctx, name, label, now - ms, now);
  const first = (await ctx.history.firstProbeAt(name)) ?? now;
  out.all = await windowView(ctx, name, 'all', Math.min(first, now), now);
  if (query.from !== undefined || query.to !== undefined) {
    const from = query.from === undefined ? Math.min(first, now) : parseTime(query.from, 'from');
    const to = query.to === undefined ? now : Math.min(parseTime(query.to, 'to'), now);
    if (from >= to) throw new HttpError(400, 'invalid request', [{ in: 'querystring', path: 'from', message: 'must be before to' }]);
    out.custom = await windowView(ctx, name, 'custom', from, to);
  }
  return out;
}

/** `/api/components`, `/api/components/:name`, its checks, and `POST …/check`. */
export function componentRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/components', async () => {
    const c = ctx.monitor.connectivity();
    // suspect: the monitor's own network seems down, so failures count as unobserved (connectivity.ts)
    const connectivity = { suspect: c.suspect, reason: c.reason ?? null, since: iso(c.since) };
    return { components: ctx.monitor.status().map(componentView), connectivity };
  });

  app.get<{ Params: NameParams; Querystring: { from?: string; to?: string; at?: string } }>(
    '/api/components/:name',
    { schema: { params: NAME_PARAMS, querystring: WINDOW_QUERY } },
    async (request) => {
      const at = evaluationInstant(ctx.clock.now(), request.query.at);
      const c = findComponent(ctx, request.params.name);
      return { ...componentView(c), evaluatedAt: iso(at), figures: await allFigures(ctx, c.name, request.query, at) };
    },
  );

  app.get<{ Params: NameParams; Querystring: { limit: number; before?: string } }>(
    '/api/components/:name/checks',
    { schema: { params: NAME_PARAMS, querystring: CHECKS_QUERY } },
    async (request) => {
      const c = findComponent(ctx, request.params.name);
      const { limit, before } = request.query;
      const page = await ctx.history.probes(c.name, { limit, ...(before === undefined ? {} : { before: parseBefore(before) }) });
      return { items: page.items.map(checkView), next: page.next === null ? null : encodeCursor(page.next) };
    },
  );

  app.post<{ Params: NameParams }>(
    '/api/components/:name/check',
    { schema: { params: NAME_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const c = findComponent(ctx, request.params.name);
      const result = await ctx.monitor.runNow(c.name);
      if (result === undefined) throw new HttpError(404, `unknown component: ${c.name}`);
      // false on an HA instance that does not hold the component: shown, not stored
      return { result: checkView(result), recorded: ctx.monitor.checksHere(c.name) };
    },
  );
}
