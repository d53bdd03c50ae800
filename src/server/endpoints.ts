import type { FastifyInstance, FastifyReply } from 'fastify';
import { EventLoopLag } from '../health/event-loop-lag.js';
import { livenessText, processProblems } from '../health/liveness.js';
import { overallStatus, toIetfStatus } from '../health/status.js';
import type { CheckResult, HealthStatus } from '../health/types.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { ServerContext } from './context.js';

const NO_STORE = 'no-store';
const TEXT = 'text/plain; charset=utf-8';

/** Components as health check results, for the rules of `overallStatus`. */
function asResults(components: ComponentStatus[]): CheckResult[] {
  return components.map((c) => ({
    name: c.name,
    status: c.status,
    critical: c.critical,
    durationMs: c.last?.durationMs ?? 0,
    time: c.last?.time ?? 0,
    ...(c.last?.error === undefined ? {} : { error: c.last.error }),
    tags: [],
  }));
}

/** `overallStatus` of the components, and `unknown` while none has a result (a monitor not started included). */
export function monitorStatus(components: ComponentStatus[]): HealthStatus {
  return components.some((c) => c.last !== undefined) ? overallStatus(asResults(components)) : 'unknown';
}

/** The IETF health+json document (draft-inadarei-api-health-check) of the monitored components. */
export function healthDocument(components: ComponentStatus[]): { status: 'pass' | 'warn' | 'fail'; checks: Record<string, unknown[]> } {
  const checks: Record<string, unknown[]> = {};
  for (const c of components) {
    const entry: Record<string, unknown> = {
      componentId: c.name,
      componentType: 'component',
      status: toIetfStatus(c.status),
      critical: c.critical,
    };
    if (c.last !== undefined) {
      entry.observedValue = c.last.durationMs;
      entry.observedUnit = 'ms';
      entry.time = new Date(c.last.time).toISOString();
    }
    if (c.last?.error !== undefined) entry.output = c.last.error;
    checks[`${c.name}:responseTime`] = [entry];
  }
  return { status: toIetfStatus(monitorStatus(components)), checks };
}

const isVerbose = (query: unknown): boolean => typeof query === 'object' && query !== null && 'verbose' in query;

const text = (reply: FastifyReply, status: number, body: string) =>
  reply.code(status).header('content-type', TEXT).header('cache-control', NO_STORE).send(body);

/** Readiness as text: `ok`, or each component Kubernetes-style with `?verbose`. */
function readiness(ctx: ServerContext, verbose: boolean): { ok: boolean; body: string } {
  const components = ctx.monitor.status();
  const status = monitorStatus(components);
  const shuttingDown = ctx.shutdown?.shuttingDown === true;
  const ok = !shuttingDown && (status === 'healthy' || status === 'degraded');
  if (!verbose) return { ok, body: ok ? 'ok' : shuttingDown ? 'shutting down' : status };
  const lines = components.map((c) => {
    const failing = c.status === 'unhealthy' || c.status === 'unknown';
    const mark = failing && c.critical ? '-' : '+';
    return `[${mark}]${c.name} ${c.status}${c.last?.error ? `: ${c.last.error}` : ''}${c.critical ? '' : ' (not critical)'}`;
  });
  if (shuttingDown) lines.push('[-]shutdown in progress');
  lines.push(`readiness check ${ok ? 'passed' : 'failed'}`);
  return { ok, body: lines.join('\n') };
}

/** `/health` (IETF health+json), `/readiness` + `/readyz`, `/liveness` + `/livez`. */
export function endpointRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/health', async (_request, reply) => {
    const doc = healthDocument(ctx.monitor.status());
    return reply
      .code(doc.status === 'fail' ? 503 : 200)
      .header('content-type', 'application/health+json')
      .header('cache-control', NO_STORE)
      .send(JSON.stringify(doc));
  });
  for (const url of ['/readiness', '/readyz']) {
    app.get(url, async (request, reply) => {
      const { ok, body } = readiness(ctx, isVerbose(request.query));
      return text(reply, ok ? 200 : 503, body);
    });
  }
  // Alive unless the process or the schedule is stuck; a failing component is not a reason to restart.
  const loop = new EventLoopLag();
  loop.start();
  app.addHook('onClose', async () => loop.stop());
  const limits = { maxDelayMs: ctx.liveness?.maxEventLoopDelay ?? 5000, maxHeapRatio: 0.98 };
  for (const url of ['/liveness', '/livez']) {
    app.get(url, async (request, reply) => {
      const problems = processProblems(loop, limits);
      for (const name of ctx.monitor.overdue()) problems.push(`${name} has had no result for three intervals (schedule stuck)`);
      const { ok, body } = livenessText(problems, isVerbose(request.query));
      return text(reply, ok ? 200 : 503, body);
    });
  }
}
