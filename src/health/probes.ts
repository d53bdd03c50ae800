import type { IncomingMessage, ServerResponse } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { checkNumber } from '../policy/validate.js';
import { EventLoopLag } from './event-loop-lag.js';
import type { HealthCheckRegistry, HealthReport } from './registry.js';
import { toIetfStatus } from './status.js';

/** Where `/metrics` reads from: a prom-client `Registry`, structurally. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
  getMetricsAsJSON(): Promise<unknown>;
}

/** Options of {@link createProbes} and {@link healthHandler}. */
export interface ProbeOptions {
  /** Readiness fails once `shuttingDown` is true (a `GracefulShutdown` fits). */
  shutdown?: { readonly shuttingDown: boolean };
  /** Registry served at `/metrics`. Default: `/metrics` answers 404. */
  metrics?: MetricsSource;
  /** Liveness fails when a `liveness: true` check has been unhealthy this long (ms). Default 300 000. */
  livenessGrace?: number;
  /** Liveness fails when the event loop was blocked longer than this (ms) since the last liveness probe. Default 5000. */
  maxEventLoopDelay?: number;
  /** Liveness fails when the heap is this full (0–1) of its limit. Default 0.98. */
  maxHeapRatio?: number;
  /** Path prefix for every route, e.g. `/_system`. Default none. */
  prefix?: string;
  /** `serviceId`, `version` and `description` of the health+json document. */
  service?: { serviceId?: string; version?: string; description?: string };
}

/** A probe's answer, independent of the HTTP framework. */
export interface ProbeResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A node:http / Express listener serving the probe routes; also a Fastify plugin via `.fastify`. */
export interface HealthHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Register with `fastify.register(handler.fastify)`. */
  fastify: (instance: FastifyLike, options: unknown, done: (error?: Error) => void) => void;
  /** The framework-free core. */
  probes: Probes;
  /** Stops the event-loop monitor. */
  close(): void;
}

/** The part of Fastify the plugin uses. */
export interface FastifyLike {
  route(options: {
    method: string[];
    url: string;
    handler: (request: { url: string; headers: Record<string, string | string[] | undefined> }, reply: FastifyReplyLike) => unknown;
  }): unknown;
}

/** The part of a Fastify reply the plugin uses. */
export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body: string): unknown;
}

const ROUTES = ['health', 'readiness', 'readyz', 'liveness', 'livez', 'metrics'] as const;
type Route = (typeof ROUTES)[number];

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** The probe routes as a function from (path, accept header) to a response. */
export class Probes {
  readonly #registry: HealthCheckRegistry;
  readonly #options: ProbeOptions;
  readonly #routes: Map<string, Route>;
  readonly #grace: number;
  readonly #maxDelayMs: number;
  readonly #maxHeapRatio: number;
  readonly #loop = new EventLoopLag();

  constructor(registry: HealthCheckRegistry, options: ProbeOptions = {}) {
    this.#registry = registry;
    this.#options = options;
    this.#grace = checkNumber('livenessGrace', options.livenessGrace ?? 300_000);
    this.#maxDelayMs = checkNumber('maxEventLoopDelay', options.maxEventLoopDelay ?? 5000, 1);
    this.#maxHeapRatio = checkNumber('maxHeapRatio', options.maxHeapRatio ?? 0.98, 0, 1);
    const prefix = (options.prefix ?? '').replace(/\/$/, '');
    this.#routes = new Map(ROUTES.map((r) => [`${prefix}/${r}`, r]));
    this.#loop.start();
  }

  /** Paths served, prefix included. */
  get paths(): string[] {
    return [...this.#routes.keys()];
  }

  /** The response for `url` (path and query), or undefined when the path is not a probe route. */
  respond(url: string, accept = ''): Promise<ProbeResponse> | undefined {
    const q = url.indexOf('?');
    const route = this.#routes.get(q < 0 ? url : url.slice(0, q));
    if (route === undefined) return undefined;
    const verbose = q >= 0 && /(?:^|&)verbose(?:=|&|$)/.test(url.slice(q + 1));
    switch (route) {
      case 'health':
        return this.#report().then((r) => this.#health(r));
      case 'readiness':
      case 'readyz':
        return this.#report().then((r) => this.#readiness(r, verbose));
      case 'liveness':
      case 'livez':
        return Promise.resolve(this.#liveness(verbose));
      case 'metrics':
        return this.#metrics(accept);
    }
  }

  /** Stops the event-loop monitor. */
  close(): void {
    this.#loop.stop();
  }

  /** Background mode answers from the latest results, so a slow dependency never piles up probe requests. */
  #report(): Promise<HealthReport> {
    return this.#registry.running ? Promise.resolve(this.#registry.report()) : this.#registry.runAll();
  }

  #health(report: HealthReport): ProbeResponse {
    const status = toIetfStatus(report.status);
    const checks: Record<string, unknown[]> = {};
    for (const c of report.checks) {
      const entry: Record<string, unknown> = {
        componentId: c.name,
        componentType: 'component',
        observedValue: c.durationMs,
        observedUnit: 'ms',
        status: toIetfStatus(c.status),
        time: new Date(c.time).toISOString(),
      };
      if (c.error !== undefined) entry.output = c.error;
      if (c.details !== undefined) entry.details = c.details;
      if (c.critical) entry.critical = true;
      checks[`${c.name}:responseTime`] = [entry];
    }
    const body = { status, ...this.#options.service, checks };
    return {
      status: status === 'fail' ? 503 : 200,
      headers: { 'content-type': 'application/health+json', 'cache-control': 'no-store' },
      body: JSON.stringify(body),
    };
  }

  #readiness(report: HealthReport, verbose: boolean): ProbeResponse {
    const shuttingDown = this.#options.shutdown?.shuttingDown === true;
    const ok = !shuttingDown && (report.status === 'healthy' || report.status === 'degraded');
    if (!verbose) return { status: ok ? 200 : 503, headers: TEXT, body: ok ? 'ok' : shuttingDown ? 'shutting down' : report.status };
    const lines = report.checks.map((c) => {
      const failing = c.status === 'unhealthy' || c.status === 'unknown';
      const mark = failing && c.critical ? '-' : '+';
      return `[${mark}]${c.name} ${c.status}${c.error ? `: ${c.error}` : ''}${c.critical ? '' : ' (not critical)'}`;
    });
    if (shuttingDown) lines.push('[-]shutdown in progress');
    lines.push(`readiness check ${ok ? 'passed' : 'failed'}`);
    return { status: ok ? 200 : 503, headers: TEXT, body: lines.join('\n') };
  }

  #liveness(verbose: boolean): ProbeResponse {
    const problems: string[] = [];
    const maxDelay = this.#loop.maxMs;
    this.#loop.reset();
    if (maxDelay > this.#maxDelayMs) problems.push(`event loop blocked for ${Math.round(maxDelay)} ms`);
    const heap = getHeapStatistics();
    const ratio = heap.used_heap_size / heap.heap_size_limit;
    if (ratio > this.#maxHeapRatio) problems.push(`heap ${(ratio * 100).toFixed(1)} % of its limit`);
    for (const name of this.#registry.prolongedFailures(this.#grace)) problems.push(`${name} unhealthy for longer than ${this.#grace} ms`);
    const ok = problems.length === 0;
    const body = verbose
      ? [...problems.map((p) => `[-]${p}`), `liveness check ${ok ? 'passed' : 'failed'}`].join('\n')
      : ok
        ? 'ok'
        : problems.join('; ');
    return { status: ok ? 200 : 503, headers: TEXT, body };
  }

  async #metrics(accept: string): Promise<ProbeResponse> {
    const source = this.#options.metrics;
    if (source === undefined) return { status: 404, headers: JSON_TYPE, body: JSON.stringify({ error: 'metrics are not configured' }) };
    if (accept.includes('application/json'))
      return { status: 200, headers: JSON_TYPE, body: JSON.stringify(await source.getMetricsAsJSON()) };
    return { status: 200, headers: { 'content-type': source.contentType, 'cache-control': 'no-store' }, body: await source.metrics() };
  }
}

/** Writes a probe response with node:http. */
function send(res: ServerResponse, r: ProbeResponse, head: boolean): void {
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(head ? undefined : r.body);
}

const notFound: ProbeResponse = { status: 404, headers: JSON_TYPE, body: JSON.stringify({ error: 'not found' }) };

/**
 * Probe routes for Kubernetes and Prometheus: `/health` (IETF health+json), `/readiness` and
 * `/readyz`, `/liveness` and `/livez` (`?verbose` lists each check), `/metrics`. 200 when passing,
 * 503 when failing. Works as a node:http listener, Express middleware (unknown paths go to `next`)
 * and, through `.fastify`, a Fastify plugin.
 */
export function healthHandler(registry: HealthCheckRegistry, options: ProbeOptions = {}): HealthHandler {
  const probes = new Probes(registry, options);
  const handler = ((req, res, next) => {
    const accept = req.headers.accept ?? '';
    const pending = probes.respond(req.url ?? '/', accept);
    if (pending === undefined) {
      if (next) next();
      else send(res, notFound, false);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(
        res,
        { status: 405, headers: { ...JSON_TYPE, allow: 'GET, HEAD' }, body: JSON.stringify({ error: 'method not allowed' }) },
        false,
      );
      return;
    }
    pending.then(
      (r) => send(res, r, req.method === 'HEAD'),
      (error: unknown) =>
        next ? next(error) : send(res, { status: 500, headers: JSON_TYPE, body: JSON.stringify({ error: 'probe failed' }) }, false),
    );
  }) as HealthHandler;
  handler.probes = probes;
  handler.close = () => probes.close();
  handler.fastify = (instance, _options, done) => {
    for (const url of probes.paths) {
      instance.route({
        method: ['GET', 'HEAD'],
        url,
        handler: async (request, reply) => {
          const accept = request.headers.accept;
          const r = (await probes.respond(request.url, typeof accept === 'string' ? accept : '')) ?? notFound;
          return reply.code(r.status).headers(r.headers).send(r.body);
        },
      });
    }
    done();
  };
  return handler;
}
