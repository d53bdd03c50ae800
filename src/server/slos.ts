import type { FastifyInstance } from 'fastify';
import { readBurnAlert } from '../alerts/burn.js';
import { formatDuration } from '../config/duration.js';
import type { ServerContext } from './context.js';
import { AT_QUERY } from './schemas.js';
import { evaluationInstant, iso } from './time.js';

/**
 * `GET /api/slos`: objective, window, error budget, burn rates over every burn window and whether
 * each burn-rate alert's conditions hold, of every SLO, as of now or `?at=`.
 */
export function sloRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get<{ Querystring: { at?: string } }>('/api/slos', { schema: { querystring: AT_QUERY } }, async (request) => {
    const at = evaluationInstant(ctx.clock.now(), request.query.at);
    const slos: unknown[] = [];
    for (const slo of ctx.monitor.config.slos) {
      const f = await ctx.history.slo(slo, at);
      if (f === undefined) continue;
      slos.push({
        name: f.name,
        component: f.component,
        objective: f.objective,
        window: formatDuration(f.windowMs),
        windowSeconds: f.windowMs / 1000,
        availability: f.figures.availability,
        budget: {
          totalSeconds: f.budgetMs / 1000,
          spentSeconds: f.figures.downMs / 1000,
          remainingRatio: f.budgetRemaining,
        },
        burnRate: f.burnRates,
        alerts: slo.alerts.map((alert) => {
          const conditions = readBurnAlert(alert, f).map((r) => ({
            long: r.long,
            short: r.short,
            budgetPercent: r.budget,
            factor: r.factor,
            longBurnRate: r.longBurnRate,
            shortBurnRate: r.shortBurnRate,
            holds: r.holds,
          }));
          return { severity: alert.severity, burning: conditions.some((c) => c.holds), conditions };
        }),
      });
    }
    return { evaluatedAt: iso(at), slos };
  });
}
