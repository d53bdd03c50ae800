import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkNumber } from '../core/validate.js';
import { type DegradationSource, healthJson, readinessText } from './documents.js';
import { EventLoopLag } from './event-loop-lag.js';
import { livenessText, processProblems } from './liveness.js';
import type { HealthCheckRegistry, HealthReport } from './registry.js';

/** Where `/metrics` reads from: a prom-client `Registry`, structurally. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
  getMetricsAsJSON(): Promise<unknown>;
}

/** Options of {@link Endpoints} and {@link healthHandler}. */
export interface EndpointOptions {
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
  /** A degradation level shown as `degradation` in `/health` (a `DegradationManager` fits); it changes no status code. Default none. */
  degradation?: DegradationSource;
}

/** An endpoint's answer, independent of the HTTP framework. */
export interface EndpointResponse {
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
  endpoints: Endpoints;
  /** @deprecated Renamed `endpoints` in 0.2 (see the glossary in docs/architecture.md); removed in 0.3. */
  probes: Endpoints;
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

/** A response with its content-length worked out once, so a prebuilt one costs nothing per request. */
function response(status: number, headers: Record<string, string>, body: string): EndpointResponse {
  return { status, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body };
}

const READY = response(200, TEXT, 'ok');
const SHUTTING_DOWN = response(503, TEXT, 'shutting down');
const NOT_READY = { unknown: response(503, TEXT, 'unknown'), unhealthy: response(503, TEXT, 'unhealthy') };
const ALIVE = READY;

/** The probe routes as a function from (path, accept header) to a response. */
export class Endpoints {
  readonly #registry: HealthCheckRegistry;
  readonly #options: EndpointOptions;
  readonly #routes: Map<string, Route>;
  readonly #grace: number;
  readonly #maxDelayMs: number;
  readonly #maxHeapRatio: number;
  readonly #loop = new EventLoopLag();

  constructor(registry: HealthCheckRegistry, options: EndpointOptions = {}) {
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

  /**
   * The response for `url` (path and query), or undefined when the path is not a probe route. In
   * background mode readiness and liveness answer synchronously, from prebuilt responses.
   */
  respond(url: string, accept = ''): EndpointResponse | Promise<EndpointResponse> | undefined {
    const q = url.indexOf('?');
    const route = this.#routes.get(q < 0 ? url : url.slice(0, q));
    if (route === undefined) return undefined;
    const verbose = q >= 0 && /(?:^|&)verbose(?:=|&|$)/.test(url.slice(q + 1));
    switch (route) {
      case 'health':
        return this.#withReport((r) => this.#health(r));
      case 'readiness':
      case 'readyz':
        return this.#registry.running && !verbose ? this.#ready() : this.#withReport((r) => this.#readiness(r, verbose));
      case 'liveness':
      case 'livez':
        return this.#liveness(verbose);
      case 'metrics':
        return this.#metrics(accept);
    }
  }

  /** Stops the event-loop monitor. */
  close(): void {
    this.#loop.stop();
  }

  /** Background mode answers from the latest results, so a slow dependency never piles up probe requests. */
  #withReport(answer: (report: HealthReport) => EndpointResponse): EndpointResponse | Promise<EndpointResponse> {
    return this.#registry.running ? answer(this.#registry.report()) : this.#registry.runAll().then(answer);
  }

  /** Readiness from the registry's running status: no report, no allocation. */
  #ready(): EndpointResponse {
    if (this.#options.shutdown?.shuttingDown === true) return SHUTTING_DOWN;
    const status = this.#registry.status;
    return status === 'healthy' || status === 'degraded' ? READY : NOT_READY[status];
  }

  #health(report: HealthReport): EndpointResponse {
    const doc = healthJson(report.status, report.checks, this.#options.service, this.#options.degradation);
    return response(
      doc.status === 'fail' ? 503 : 200,
      { 'content-type': 'application/health+json', 'cache-control': 'no-store' },
      JSON.stringify(doc),
    );
  }

  #readiness(report: HealthReport, verbose: boolean): EndpointResponse {
    const shuttingDown = this.#options.shutdown?.shuttingDown === true;
    const { ok, body } = readinessText(report.status, report.checks, shuttingDown, verbose);
    if (!verbose && ok) return READY;
    if (!verbose && shuttingDown) return SHUTTING_DOWN;
    return response(ok ? 200 : 503, TEXT, body);
  }

  #liveness(verbose: boolean): EndpointResponse {
    const problems = processProblems(this.#loop, { maxDelayMs: this.#maxDelayMs, maxHeapRatio: this.#maxHeapRatio });
    for (const name of this.#registry.prolongedFailures(this.#grace)) problems.push(`${name} unhealthy for longer than ${this.#grace} ms`);
    if (problems.length === 0 && !verbose) return ALIVE;
    const { ok, body } = livenessText(problems, verbose);
    return response(ok ? 200 : 503, TEXT, body);
  }

  async #metrics(accept: string): Promise<EndpointResponse> {
    const source = this.#options.metrics;
    if (source === undefined) return response(404, JSON_TYPE, JSON.stringify({ error: 'metrics are not configured' }));
    if (accept.includes('application/json')) return response(200, JSON_TYPE, JSON.stringify(await source.getMetricsAsJSON()));
    return response(200, { 'content-type': source.contentType, 'cache-control': 'no-store' }, await source.metrics());
  }
}

/** Writes a probe response with node:http; the headers already carry content-length. */
function send(res: ServerResponse, r: EndpointResponse, head: boolean): void {
  res.writeHead(r.status, r.headers);
  res.end(head ? undefined : r.body);
}

const notFound = response(404, JSON_TYPE, JSON.stringify({ error: 'not found' }));
const notAllowed = response(405, { ...JSON_TYPE, allow: 'GET, HEAD' }, JSON.stringify({ error: 'method not allowed' }));
const probeFailed = response(500, JSON_TYPE, JSON.stringify({ error: 'probe failed' }));

/**
 * Endpoints for Kubernetes and Prometheus: `/health` (IETF health+json), `/readiness` and
 * `/readyz`, `/liveness` and `/livez` (`?verbose` lists each check), `/metrics`. 200 when passing,
 * 503 when failing. Works as a node:http listener, Express middleware (unknown paths go to `next`)
 * and, through `.fastify`, a Fastify plugin.
 */
export function healthHandler(registry: HealthCheckRegistry, options: EndpointOptions = {}): HealthHandler {
  const endpoints = new Endpoints(registry, options);
  const handler = ((req, res, next) => {
    const accept = req.headers.accept ?? '';
    const answer = endpoints.respond(req.url ?? '/', accept);
    if (answer === undefined) {
      if (next) next();
      else send(res, notFound, false);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, notAllowed, false);
      return;
    }
    if (!(answer instanceof Promise)) {
      send(res, answer, req.method === 'HEAD'); // background mode: no promise hop
      return;
    }
    answer.then(
      (r) => send(res, r, req.method === 'HEAD'),
      (error: unknown) => (next ? next(error) : send(res, probeFailed, false)),
    );
  }) as HealthHandler;
  handler.endpoints = endpoints;
  handler.probes = endpoints;
  handler.close = () => endpoints.close();
  handler.fastify = (instance, _options, done) => {
    for (const url of endpoints.paths) {
      instance.route({
        method: ['GET', 'HEAD'],
        url,
        handler: async (request, reply) => {
          const accept = request.headers.accept;
          const r = (await endpoints.respond(request.url, typeof accept === 'string' ? accept : '')) ?? notFound;
          return reply.code(r.status).headers(r.headers).send(r.body);
        },
      });
    }
    done();
  };
  return handler;
}

/** @deprecated Renamed {@link Endpoints} in 0.2 (a *probe* is what the monitor sends); removed in 0.3. */
export const Probes = Endpoints;
/** @deprecated Renamed {@link Endpoints} in 0.2; removed in 0.3. */
export type Probes = Endpoints;
/** @deprecated Renamed {@link EndpointOptions} in 0.2; removed in 0.3. */
export type ProbeOptions = EndpointOptions;
/** @deprecated Renamed {@link EndpointResponse} in 0.2; removed in 0.3. */
export type ProbeResponse = EndpointResponse;
