import compress from '@fastify/compress';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ActiveAlert } from '../alerts/lifecycle.js';
import type { Silences } from '../alerts/silences.js';
import type { BackupSchedules } from '../backup/schedules.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Monitor } from '../monitor/monitor.js';
import type { DeadLetterRecord } from '../notify/notifier.js';
import type { Subscriptions } from '../notify/subscriptions.js';
import { alertRoutes } from './alerts.js';
import { backupRoutes } from './backups.js';
import { componentRoutes } from './components.js';
import type { ServerContext } from './context.js';
import { degradationRoutes, ServedDegradation } from './degradation.js';
import { endpointRoutes } from './endpoints.js';
import { installErrorHandling } from './errors.js';
import { flagRoutes, ServedFlags } from './flags.js';
import { incidentRoutes } from './incidents.js';
import type { ServedLiveness } from './liveness.js';
import { maintenanceRoutes } from './maintenance.js';
import { metricsRoute } from './metrics.js';
import { pageRoutes } from './page/routes.js';
import { rateLimitHook } from './rate-limits.js';
import { silenceRoutes } from './silences.js';
import { sloRoutes } from './slos.js';
import { subscriberRoutes } from './subscribers.js';

/** Options of {@link buildApp}. */
export interface AppOptions {
  /** The running monitor whose status, figures and checks are served. */
  monitor: Monitor;
  /** prom-client Registry served at `/metrics`; the monitor's gauges are added to it. */
  registry: Registry;
  /** Readiness fails once `shuttingDown` is true (a `GracefulShutdown` fits). */
  shutdown?: { readonly shuttingDown: boolean };
  /** The HA monitor's leases: while they are not renewed in time, readiness is 503. Default: none (one instance). */
  ha?: { readonly ready: boolean };
  /** Source of "now" for the figures' windows and the rate limits; use the monitor's. Default `systemClock`. */
  clock?: Clock;
  /** When `/liveness` fails: an event-loop block past `maxEventLoopDelay` ms, a heap past `maxHeapRatio` of its limit. Default: the monitor config's `server.liveness`. */
  liveness?: ServedLiveness;
  /** What `GET /api/alerts` lists: the alert evaluator of `nines serve`. Default: no alerts. */
  alerts?: { active(): ActiveAlert[] };
  /** Silences served at `/api/silences` (the ones the evaluator applies). Default: no such routes. */
  silences?: Silences;
  /** What `GET /api/notifications/dead-letters` lists. Default: none. */
  deadLetters?: (limit: number) => Promise<DeadLetterRecord[]>;
  /** Status page subscribers: the form, `/subscribe`, `/unsubscribe` and `/api/subscribers`. Default: none. */
  subscriptions?: Subscriptions;
  /** The backups `/api/backups` shows and starts. Default none (the routes answer 404). */
  backups?: BackupSchedules;
  /** The flags served at `/api/flags`; default: the config's `flags:`, changed only through the API. */
  flags?: ServedFlags;
  /** The level served at `/api/degradation`; give the same one's `manager.current` to `flags` as `level`. Default: a new one, read by the default flags. */
  degradation?: ServedDegradation;
  /** A pino-compatible logger for requests and internal errors. Default: no logging. */
  logger?: FastifyBaseLogger;
}

/**
 * The HTTP service of `nines serve`, not yet listening: probes, `/metrics`, and the JSON API over
 * the monitor. Call `listen()` on it (or `inject()` in tests).
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const app = (options.logger === undefined ? Fastify({ logger: false }) : Fastify({ loggerInstance: options.logger })) as FastifyInstance;
  const clock = options.clock ?? systemClock;
  const degradation = options.degradation ?? new ServedDegradation({ registry: options.registry, clock });
  const ctx: ServerContext = {
    monitor: options.monitor,
    history: options.monitor.history,
    registry: options.registry,
    alerts: options.alerts,
    deadLetters: options.deadLetters,
    silences: options.silences,
    subscriptions: options.subscriptions,
    backups: options.backups,
    flags:
      options.flags ??
      new ServedFlags({ flags: options.monitor.config.flags, registry: options.registry, clock, level: degradation.manager.current }),
    degradation,
    clock,
    shutdown: options.shutdown,
    ha: options.ha,
    liveness: options.liveness ?? options.monitor.config.server.liveness,
  };
  installErrorHandling(app);
  // The status page is repetitive markup: gzip/brotli make it a tenth of its size on the wire.
  void app.register(compress, { global: true, threshold: 1024 });
  // Routes in a plugin registered after it, so its hooks wrap them.
  void app.register(async (routes) => {
    routes.addHook('onRequest', rateLimitHook(ctx.monitor.config.server.rateLimit, ctx));
    endpointRoutes(routes, ctx);
    metricsRoute(routes, ctx);
    componentRoutes(routes, ctx);
    incidentRoutes(routes, ctx);
    sloRoutes(routes, ctx);
    alertRoutes(routes, ctx);
    maintenanceRoutes(routes, ctx);
    if (ctx.silences !== undefined) silenceRoutes(routes, { ...ctx, silences: ctx.silences });
    flagRoutes(routes, ctx);
    degradationRoutes(routes, ctx);
    pageRoutes(routes, ctx);
    subscriberRoutes(routes, ctx);
    backupRoutes(routes, ctx);
  });
  return app;
}
