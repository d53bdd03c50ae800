import type { FastifyInstance } from 'fastify';
import { formatDuration, formatProblems, parseMaintenance } from '../config/index.js';
import type { MaintenanceBook, MaintenanceWindow } from '../monitor/maintenance.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { NAME_PARAMS } from './schemas.js';
import { iso } from './time.js';

/** How far in the past an API window may begin: the clocks of the caller and nines differ a little. */
const PAST_TOLERANCE_MS = 60_000;

/** One window as the API shows it, with the occurrence in progress or next (null when none is left). */
export function maintenanceView(book: MaintenanceBook, w: MaintenanceWindow, now: number) {
  const occurrence = book.current(w, now);
  return {
    name: w.name,
    title: w.title,
    description: w.description ?? null,
    source: w.source,
    components: w.components,
    tags: w.tags,
    availability: w.availability,
    start: iso(w.start),
    end: iso(w.end),
    cron: w.cron ?? null,
    duration: w.duration === undefined ? null : formatDuration(w.duration),
    timezone: w.timezone,
    inProgress: occurrence !== undefined && occurrence.from <= now,
    occurrence: occurrence === undefined ? null : { start: iso(occurrence.from), end: iso(occurrence.to) },
    createdAt: iso(w.createdAt),
    createdBy: w.createdBy ?? null,
  };
}

/**
 * `/api/maintenance`: list the windows (the config's and the API's); make, replace and cancel the
 * API's ones with the bearer token. A cancelled window that has begun is ended now rather than
 * deleted, so the time it covered stays maintenance and past figures do not move.
 */
export function maintenanceRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const book = ctx.monitor.maintenance;
  const view = (w: MaintenanceWindow) => maintenanceView(book, w, ctx.clock.now());

  app.get('/api/maintenance', async () => ({ windows: book.all().map(view) }));

  app.get<{ Params: { name: string } }>('/api/maintenance/:name', { schema: { params: NAME_PARAMS } }, async (request) => {
    const w = book.get(request.params.name);
    if (w === undefined) throw new HttpError(404, `unknown maintenance window: ${request.params.name}`);
    return view(w);
  });

  /** Validates a body and stores it as the API window `name`; a config window of that name is refused. */
  const save = async (body: unknown, name: string | undefined, replace: boolean) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'expected a JSON object');
    const { by, ...spec } = body as Record<string, unknown>;
    if (by !== undefined && (typeof by !== 'string' || by.length > 200))
      throw new HttpError(400, 'by: expected a text of at most 200 characters');
    if (name !== undefined) spec.name = name;
    const parsed = parseMaintenance(
      spec,
      ctx.monitor.config.components.map((c) => c.name),
    );
    if (!parsed.ok) throw new HttpError(400, 'invalid maintenance window', formatProblems(parsed.problems));
    const existing = book.get(parsed.window.name);
    const now = ctx.clock.now();
    // a window cannot rewrite availability already recorded: it begins now at the earliest
    // (a recurring one without start begins when it is made), or keeps the start it had
    if (parsed.window.start === undefined && parsed.window.cron !== undefined) spec.start = new Date(existing?.start ?? now).toISOString();
    else if ((parsed.window.start ?? now) < now - PAST_TOLERANCE_MS && parsed.window.start !== existing?.start)
      throw new HttpError(400, 'invalid maintenance window', [
        'start: must not be in the past: a window cannot change availability already recorded',
      ]);
    if (existing?.source === 'config')
      throw new HttpError(409, `maintenance window ${parsed.window.name} is in the config: change it there`);
    if (existing !== undefined && !replace) throw new HttpError(409, `maintenance window ${parsed.window.name} exists: PUT replaces it`);
    if (existing === undefined && replace) throw new HttpError(404, `unknown maintenance window: ${parsed.window.name}`);
    await ctx.monitor.putMaintenance({
      name: parsed.window.name,
      spec,
      createdAt: existing?.createdAt ?? now,
      createdBy: by as string | undefined,
    });
    return view(book.get(parsed.window.name) as MaintenanceWindow);
  };

  app.post('/api/maintenance', writeRoute(ctx.monitor), async (request, reply) => {
    const created = await save(request.body, undefined, false);
    return reply.code(201).send(created);
  });

  app.put<{ Params: { name: string } }>(
    '/api/maintenance/:name',
    { schema: { params: NAME_PARAMS }, ...writeRoute(ctx.monitor) },
    (request) => save(request.body, request.params.name, true),
  );

  app.delete<{ Params: { name: string } }>(
    '/api/maintenance/:name',
    { schema: { params: NAME_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const name = request.params.name;
      if (book.get(name)?.source === 'config') throw new HttpError(409, `maintenance window ${name} is in the config: change it there`);
      const ended = await ctx.monitor.endMaintenance(name, ctx.clock.now());
      if (ended === undefined) throw new HttpError(404, `unknown maintenance window: ${name}`);
      return ended === 'deleted' ? { deleted: true, window: null } : { deleted: false, window: view(ended) };
    },
  );
}
