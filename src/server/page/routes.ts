import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseDuration } from '../../config/duration.js';
import { isNinesError } from '../../core/errors.js';
import type { ComponentStatus } from '../../monitor/monitor.js';
import { allFigures } from '../components.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { NAME_PARAMS, type NameParams } from '../schemas.js';
import { type BADGE_COLOURS, badge } from './badges.js';
import { PageCache, sendPage } from './cache.js';
import { incidentFeed } from './feed.js';
import { percent } from './format.js';
import { componentModel, indexModel, liveOnly, publicComponent, publicComponents, publicIncidents, publicNotes } from './model.js';
import { renderComponent, renderIndex } from './render.js';

const SVG_HEADERS = {
  'content-type': 'image/svg+xml; charset=utf-8',
  'cache-control': 'no-cache, max-age=0',
  'x-content-type-options': 'nosniff',
};
const MAX_BADGE_WINDOW = 366 * 86_400_000;

/** `?window=` of the uptime badge: a duration from 1 minute to a year. */
const BADGE_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { window: { type: 'string', pattern: '^[0-9a-z]{2,12}$', default: '30d' } },
} as const;

function windowOf(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    ms = Number.NaN;
  }
  if (!(ms >= 60_000 && ms <= MAX_BADGE_WINDOW)) {
    throw new HttpError(400, 'invalid request', [
      { in: 'querystring', path: 'window', message: 'must be a duration from 1m to 366d, e.g. 30d' },
    ]);
  }
  return ms;
}

const STATUS_BADGE = {
  healthy: ['up', 'green'],
  degraded: ['degraded', 'yellow'],
  partial: ['partial outage', 'orange'],
  unhealthy: ['down', 'red'],
  unknown: ['unknown', 'grey'],
} as const satisfies Record<string, readonly [string, keyof typeof BADGE_COLOURS]>;

function uptimeColour(a: number | null): keyof typeof BADGE_COLOURS {
  if (a === null) return 'grey';
  return a >= 0.999 ? 'green' : a >= 0.99 ? 'yellow' : a >= 0.95 ? 'orange' : 'red';
}

/** Base URL of links in the feed: `page.url`, else as the client reached us (the Host header). */
function baseOf(request: FastifyRequest, url: string | undefined): string {
  return url ?? `${request.protocol}://${request.host}`;
}

/** Longest a rendered page is reused while no shown status changes. */
const MAX_PAGE_AGE = 5_000;

/** What a page shows that must never be served stale: each component's status, flapping, open incident and maintenance, and what people wrote on incidents (its revision). */
function stateOf(statuses: readonly ComponentStatus[], notes: number): string {
  return `${notes}\n${statuses.map((s) => `${s.name} ${s.status} ${s.flapping} ${s.incidentSince ?? ''} ${s.maintenance.join()}`).join('\n')}`;
}

const send = (reply: FastifyReply, headers: Record<string, string>, body: string) => reply.code(200).headers(headers).send(body);

/** The status page `/`, `/components/:name`, the badges and `/feed.xml`: public components only. */
export function pageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const config = () => ctx.monitor.config.page;

  const cache = new PageCache(ctx.clock);
  let cachedFor = ctx.monitor.config;
  /** The page at `path` from the cache: stale by at most half the refresh interval (5 s at most), never in status. */
  const cached = (path: string, shown: readonly ComponentStatus[], render: () => Promise<string>) => {
    if (ctx.monitor.config !== cachedFor) {
      cachedFor = ctx.monitor.config;
      cache.clear();
    }
    return cache.get(path, stateOf(shown, ctx.monitor.notebook.revision), Math.min(MAX_PAGE_AGE, config().refresh / 2), render);
  };

  app.get('/', async (request, reply) => {
    const shown = publicComponents(ctx);
    const statuses = ctx.monitor.status().filter((s) => shown.has(s.name));
    return sendPage(request, reply, await cached('/', statuses, async () => renderIndex(config(), await indexModel(ctx))));
  });

  app.get<{ Params: NameParams }>('/components/:name', { schema: { params: NAME_PARAMS } }, async (request, reply) => {
    const { status, config: component } = publicComponent(ctx, request.params.name);
    const render = async () => {
      const now = ctx.clock.now();
      try {
        const model = await componentModel(ctx, status, component, now);
        const figures = await allFigures(ctx, status.name, {});
        const incidents = await publicIncidents(ctx, publicComponents(ctx), 50, status.name);
        const checks = (await ctx.history.probes(status.name, { limit: 50 })).items;
        return renderComponent(config(), model, figures, incidents, await publicNotes(ctx, incidents), checks, now);
      } catch (error) {
        if (!isNinesError(error, 'NINES_STORE_UNAVAILABLE')) throw error;
        return renderComponent(config(), liveOnly(status, component, now), undefined, [], new Map(), [], now);
      }
    };
    return sendPage(request, reply, await cached(`/components/${status.name}`, [status], render));
  });

  app.get<{ Params: { component: string } }>(
    '/badge/:component/status.svg',
    { schema: { params: { type: 'object', required: ['component'], properties: { component: NAME_PARAMS.properties.name } } } },
    async (request, reply) => {
      const { status } = publicComponent(ctx, request.params.component);
      const [value, colour] = STATUS_BADGE[status.status];
      return send(reply, SVG_HEADERS, badge(status.name, value, colour));
    },
  );

  app.get<{ Params: { component: string }; Querystring: { window: string } }>(
    '/badge/:component/uptime.svg',
    {
      schema: {
        params: { type: 'object', required: ['component'], properties: { component: NAME_PARAMS.properties.name } },
        querystring: BADGE_QUERY,
      },
    },
    async (request, reply) => {
      const { status } = publicComponent(ctx, request.params.component);
      const ms = windowOf(request.query.window);
      const now = ctx.clock.now();
      const figures = await ctx.history.figures(status.name, { from: now - ms, to: now });
      const a = figures?.availability ?? null;
      return send(reply, SVG_HEADERS, badge(`uptime ${request.query.window}`, percent(a), uptimeColour(a)));
    },
  );

  app.get('/feed.xml', async (request, reply) => {
    const incidents = await publicIncidents(ctx, publicComponents(ctx), 50);
    const xml = incidentFeed(config().title, baseOf(request, config().url), incidents, await publicNotes(ctx, incidents), ctx.clock.now());
    return send(reply, { 'content-type': 'application/atom+xml; charset=utf-8', 'cache-control': 'no-cache, max-age=0' }, xml);
  });
}
