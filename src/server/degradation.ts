import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { problemsOf } from '../degrade/flags/schema.js';
import { DEGRADATION_LEVELS } from '../degrade/levels/levels.js';
import { type DegradationChange, DegradationManager } from '../degrade/levels/manager.js';
import { degradationMetrics } from '../metrics/degradation-metrics.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { byOf, MAX_FLAG_AUDIT } from './flags.js';
import { iso } from './time.js';

/**
 * The degradation level of `nines serve`: a {@link DegradationManager} with no rules (the monitor's
 * components are other services), so the level is the operator's, set and cleared through the API.
 * Its changes are kept in memory (the last {@link MAX_FLAG_AUDIT}); each instance has its own level.
 */
export class ServedDegradation {
  /** The level in force; the server's flags read `manager.current`. */
  readonly manager: DegradationManager;
  readonly #audit: DegradationChange[] = [];

  /** A manager at `full` on `clock`, exported on `registry` as `nines_degradation_level` and `nines_degradation_reason`. */
  constructor(options: { registry: Registry; clock: Clock }) {
    this.manager = new DegradationManager({ clock: options.clock, metrics: degradationMetrics(options.registry) });
    this.manager.on('change', (change) => {
      this.#audit.push(change);
      if (this.#audit.length > MAX_FLAG_AUDIT) this.#audit.shift();
    });
  }

  /** The changes, newest first. */
  audit(): DegradationChange[] {
    return [...this.#audit].reverse();
  }

  /** Drops the override's timer. */
  close(): void {
    this.manager.close();
  }
}

const overrideSchema = z.strictObject({
  level: z.enum(DEGRADATION_LEVELS),
  reason: z.string().trim().min(1).max(500).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

function stateView(served: ServedDegradation) {
  const s = served.manager.state();
  return { level: s.level, reason: s.reason, source: s.source, since: iso(s.since), until: iso(s.until) };
}

const changeView = (c: DegradationChange) => ({ ...c, at: iso(c.at), until: iso(c.until), rule: c.rule ?? null });

/**
 * `/api/degradation`: the level in force (public), and with the bearer token a manual level set
 * (`PUT`) or cleared (`DELETE`) and the record of those changes (`GET /api/degradation/audit`).
 */
export function degradationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const served = ctx.degradation;
  app.get('/api/degradation', async () => stateView(served));

  app.get('/api/degradation/audit', writeRoute(ctx.monitor), async () => ({ entries: served.audit().map(changeView) }));

  app.put('/api/degradation', writeRoute(ctx.monitor), async (request) => {
    const parsed = overrideSchema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, 'invalid degradation level', problemsOf(parsed.error));
    const { level, reason, until } = parsed.data;
    const untilMs = until === undefined ? undefined : Date.parse(until);
    if (untilMs !== undefined && untilMs <= ctx.clock.now()) {
      throw new HttpError(400, 'invalid degradation level', ['until: must be in the future']);
    }
    const by = byOf(request.headers['x-nines-by']);
    served.manager.set(level, { by, reason: reason ?? `set by ${by}`, ...(untilMs === undefined ? {} : { until: untilMs }) });
    return stateView(served);
  });

  app.delete('/api/degradation', writeRoute(ctx.monitor), async (request) => {
    if (!served.manager.clear({ by: byOf(request.headers['x-nines-by']) })) throw new HttpError(404, 'no manual level is set');
    return stateView(served);
  });
}
