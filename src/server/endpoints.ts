import type { FastifyInstance, FastifyReply } from 'fastify';
import { type DegradationSource, type DocumentEntry, healthJson, readinessText } from '../health/documents.js';
import { EventLoopLag } from '../health/event-loop-lag.js';
import { livenessText } from '../health/liveness.js';
import { overallStatus } from '../health/status.js';
import type { CheckResult, HealthStatus } from '../health/types.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { ServerContext } from './context.js';
import { lagResolution, servedLivenessProblems } from './liveness.js';
import { UNLIMITED } from './rate-limits.js';

const NO_STORE = 'no-store';
const TEXT = 'text/plain; charset=utf-8';

/** A component's status in health's words: partial (failing from fewer locations than the quorum needs) counts as degraded. */
const healthStatus = (c: ComponentStatus): HealthStatus => (c.status === 'partial' ? 'degraded' : c.status);

/** Components as health check results, for the rules of `overallStatus` (one with no result yet is `unknown`). */
function asResults(components: ComponentStatus[]): CheckResult[] {
  return components.map((c) => ({
    name: c.name,
    status: healthStatus(c),
    critical: c.critical,
    durationMs: c.last?.durationMs ?? 0,
    time: c.last?.time ?? 0,
    ...(c.last?.error === undefined ? {} : { error: c.last.error }),
    tags: [],
  }));
}

/** Components as entries of health's documents: the one boundary between the monitor's words and health's. */
function asEntries(components: ComponentStatus[]): DocumentEntry[] {
  return components.map((c) => ({
    name: c.name,
    status: healthStatus(c),
    critical: c.critical,
    durationMs: c.last?.durationMs,
    time: c.last?.time,
    error: c.last?.error,
  }));
}

/** `overallStatus` of the components, and `unknown` while none has a result (a monitor not started included). */
export function monitorStatus(components: ComponentStatus[]): HealthStatus {
  return components.some((c) => c.last !== undefined) ? overallStatus(asResults(components)) : 'unknown';
}

/** The IETF health+json document of the monitored components, with the service's own degradation level: the library's `/health` document. */
export function healthDocument(components: ComponentStatus[], degradation?: DegradationSource): ReturnType<typeof healthJson> {
  return healthJson(monitorStatus(components), asEntries(components), undefined, degradation);
}

const isVerbose = (query: unknown): boolean => typeof query === 'object' && query !== null && 'verbose' in query;

const text = (reply: FastifyReply, status: number, body: string) =>
  reply.code(status).header('content-type', TEXT).header('cache-control', NO_STORE).send(body);

/** Readiness as text: `ok`, or each component Kubernetes-style with `?verbose`. */
function readiness(ctx: ServerContext, verbose: boolean): { ok: boolean; body: string } {
  const components = ctx.monitor.status();
  const result = readinessText(monitorStatus(components), asEntries(components), ctx.shutdown?.shuttingDown === true, verbose);
  // shutting down says why first: the leases are released at the start of the drain on purpose
  if (ctx.ha === undefined || ctx.ha.ready || ctx.shutdown?.shuttingDown === true) return result;
  // An HA instance that missed its renew deadline checks nothing: take it out before a peer takes over.
  const line = '[-]ha: leases not renewed within renewDeadline';
  if (!verbose) return { ok: false, body: 'ha: leases not renewed' };
  return { ok: false, body: result.body.replace(/readiness check (passed|failed)$/, `${line}\nreadiness check failed`) };
}

/** `/health` (IETF health+json), `/readiness` + `/readyz`, `/liveness` + `/livez`. */
export function endpointRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/health', UNLIMITED, async (_request, reply) => {
    const doc = healthDocument(ctx.monitor.status(), ctx.degradation.manager);
    return reply
      .code(doc.status === 'fail' ? 503 : 200)
      .header('content-type', 'application/health+json')
      .header('cache-control', NO_STORE)
      .send(JSON.stringify(doc));
  });
  for (const url of ['/readiness', '/readyz']) {
    app.get(url, UNLIMITED, async (request, reply) => {
      const { ok, body } = readiness(ctx, isVerbose(request.query));
      return text(reply, ok ? 200 : 503, body);
    });
  }
  // Alive unless the process or the schedule is stuck; a failing component is not a reason to restart.
  const loop = new EventLoopLag(lagResolution(ctx.liveness));
  loop.start();
  app.addHook('onClose', async () => loop.stop());
  for (const url of ['/liveness', '/livez']) {
    app.get(url, UNLIMITED, async (request, reply) => {
      const problems = servedLivenessProblems(loop, ctx.liveness, ctx.monitor);
      const { ok, body } = livenessText(problems, isVerbose(request.query));
      return text(reply, ok ? 200 : 503, body);
    });
  }
}
