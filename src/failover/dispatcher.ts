import { EventEmitter } from 'node:events';
import { Agent, Dispatcher, Dispatcher1Wrapper, errors, Pool } from 'undici';
import { type Clock, systemClock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { checkInteger, checkNumber } from '../core/validate.js';
import { DeadlineList } from '../policy/deadline-list.js';
import { RetryBudget } from '../policy/retry-budget.js';
import { type ActiveCheckOptions, ActiveHealthChecker, type CheckState, type Probe } from './active-check.js';
import type { DiscoveredEndpoint, Discovery } from './discovery/discovery.js';
import { endpointOf, originOf } from './discovery/endpoint.js';
import { OutlierDetector, type OutlierDetectorOptions, type OutlierState } from './ejection.js';
import { FailoverRequest, type HostHeader, hostHeader, type RequestHost, type RetryReason } from './failover-request.js';
import { type HttpProbe, httpProbe } from './http-probe.js';
import type { FailoverMetrics, UpstreamMetrics, UpstreamOutcome } from './metrics-sink.js';
import type { PriorityLoadOptions } from './priority.js';
import { type BalancerKind, type Endpoint, Router } from './router.js';

/** One tier of endpoints: a fixed list, or a discovery source that keeps it current. */
export interface TierOptions {
  /** Origins (`http://10.0.0.1:8080`) or endpoints with a weight. */
  endpoints?: readonly (string | DiscoveredEndpoint)[];
  /** A source that keeps the tier's endpoints current (DNS, Kubernetes, Consul); instead of `endpoints`. */
  discovery?: Discovery;
}

/** Retries on another host. */
export interface FailoverRetryOptions {
  /** Attempts per request, the first included; default 3 (1 disables retries). */
  maxAttempts?: number;
  /** ms an attempt may wait for its response headers before another host is tried; default 2 000. */
  perTryTimeoutMs?: number;
  /** ms from the first attempt after which no attempt starts and `Retry-After` is not waited for; default 10 000. */
  deadlineMs?: number;
  /** Statuses retried on another host (idempotent requests only); default 502, 503, 504. */
  statuses?: readonly number[];
  /** Retries as a percent of requests: of those in flight (Envoy's budget), else of those of the last 10 s; default 20. */
  budgetPercent?: number;
  /** Retries in flight always allowed, whatever the traffic; default 3. */
  minRetryConcurrency?: number;
}

/** Active health checks: an HTTP probe per endpoint with HAProxy's intervals (see {@link ActiveCheckOptions}). */
export interface FailoverHealthCheckOptions extends Omit<ActiveCheckOptions, 'clock' | 'random' | 'onChange' | 'onCheck'> {
  /** Path probed on each endpoint; default `/readiness` (nines' own, which answers 503 while draining). */
  path?: string;
  /** Extra headers of each probe; its `host` is the logical origin's. */
  headers?: Record<string, string>;
  /** Replaces the HTTP probe (a TCP connect, a gRPC health call): resolves `{ status }` or `{ error }`. */
  probe?: Probe;
}

/** Options of {@link FailoverDispatcher}. */
export interface FailoverDispatcherOptions extends PriorityLoadOptions {
  /** Endpoint groups in order of preference; a later tier gets traffic as earlier ones lose healthy hosts. */
  tiers: readonly (TierOptions | readonly (string | DiscoveredEndpoint)[])[];
  /** Name of the upstream in metrics and events; default the host of the first `origin`, else `upstream`. */
  name?: string;
  /** Logical origins routed over the tiers (`http://api`); requests to other origins go to `fallback`. Default: every request is routed. */
  origin?: string | readonly string[];
  /** Where requests to other origins go; default a plain undici `Agent`, created when first needed. */
  fallback?: Dispatcher;
  /** How a tier picks a host; default `'p2c'`, which also steers away from a host that hangs. */
  balancer?: BalancerKind;
  /** Active health checks; off by default (not every upstream has a health path): `true` for the defaults. */
  healthCheck?: boolean | FailoverHealthCheckOptions;
  /** Passive outlier ejection; `false` disables it. */
  outlier?: false | Omit<OutlierDetectorOptions, 'clock' | 'onChange' | 'onOverflow' | 'random'>;
  /** Retries on another host; `false` disables them. */
  retry?: false | FailoverRetryOptions;
  /** Options of each endpoint's undici `Pool` (connections, pipelining, connect timeout, TLS). */
  pool?: Pool.Options;
  /** Where to report `nines_upstream_*` metrics, e.g. `upstreamMetrics(registry)` from `nines/metrics`. */
  metrics?: FailoverMetrics;
  /** Time source of timers and ejections; default the system clock. */
  clock?: Clock;
  /** Randomness in [0, 1) for tiers, balancers and jitter; default `Math.random`. */
  random?: () => number;
}

/** Payloads of the dispatcher's events (it is an EventEmitter, as every undici dispatcher). */
export interface FailoverEvents {
  /** A host left rotation after failures. */
  eject: { origin: string; tier: number; reason: string };
  /** An ejected host came back (slow start begins). */
  uneject: { origin: string; tier: number };
  /** A host's active health check changed state. */
  health: { origin: string; tier: number; up: boolean; reason: string };
  /** A tier entered or left panic. */
  panic: { tier: number; panic: boolean };
  /** A tier's discovery failed to refresh; its last list of endpoints stays in use. */
  'discovery-error': { tier: number; error: unknown };
}

/** A restarted host is back within ~1.5 s: down hosts are probed every second, and a rising one at once again. */
const DEFAULT_DOWN_INTERVAL_MS = 1_000;
const DEFAULT_FAST_INTERVAL_MS = 500;

/** undici's adapter of the older handler shape; public in its JavaScript, missing from its types. */
const legacy = Dispatcher1Wrapper as unknown as { wrapHandler(h: Dispatcher.DispatchHandler): Dispatcher.DispatchHandler };

const DEFAULT_RETRY_STATUSES = [502, 503, 504];

/**
 * An undici `Dispatcher` that spreads requests over tiers of endpoints, ejects failing hosts,
 * falls back to later tiers and retries on another host: pass it as `dispatcher` to `fetch` or
 * `request`, or to `setGlobalDispatcher`. One undici `Pool` per endpoint; the logical origin's
 * host is sent as `host`.
 */
export class FailoverDispatcher extends Dispatcher {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #router: Router;
  readonly #outlier: OutlierDetector | undefined;
  readonly #checker: ActiveHealthChecker | undefined;
  readonly #probe: HttpProbe | undefined;
  /** Hosts whose last active check (or a connection to them) failed: their next pass also ends an outlier ejection. */
  readonly #checkFailed = new Set<string>();
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #tierOf: Endpoint[][];
  readonly #origins: ReadonlySet<string> | undefined;
  readonly #hosts = new Map<string, HostHeader>();
  readonly #poolOptions: Pool.Options | undefined;
  readonly #metrics: UpstreamMetrics | undefined;
  readonly #discoveries: Discovery[] = [];
  readonly #ready: Promise<void>;
  readonly #host: RequestHost;
  readonly #retryStatuses: ReadonlySet<number>;
  readonly #ejected = new Set<string>();
  /** First of the requests not yet ended (a list through them: no Set to hash into per request), so destroy() can end those between attempts (in a Retry-After wait). */
  #live: FailoverRequest | undefined;
  #liveCount = 0;
  /** Resolves close()'s wait once no request is live. */
  #drained: (() => void) | undefined;
  #destroying: Promise<void> | undefined;
  #fallback: Dispatcher | undefined;
  #ownFallback = false;
  #inFlight = 0;
  #retriesInFlight = 0;
  #isReady = false;
  #closed = false;
  readonly #budgetPercent: number;
  readonly #minRetries: number;
  readonly #budget: RetryBudget;

  /** Validates every option and starts discovery; `ready()` resolves once every tier knows its endpoints. */
  constructor(options: FailoverDispatcherOptions) {
    super();
    if (!Array.isArray(options?.tiers) || options.tiers.length === 0) throw new InvalidOptionError('tiers must list at least one tier');
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#poolOptions = options.pool;
    const origins = options.origin === undefined ? undefined : typeof options.origin === 'string' ? [options.origin] : options.origin;
    this.#origins = origins === undefined ? undefined : new Set(origins.map((o) => originOf('origin', o)));
    this.#fallback = options.fallback;
    const name = options.name ?? (origins?.[0] === undefined ? 'upstream' : new URL(origins[0]).host);
    this.#metrics = options.metrics?.upstream(name);
    const retry = options.retry === false ? { maxAttempts: 1 } : (options.retry ?? {});
    const maxAttempts = checkInteger('retry.maxAttempts', retry.maxAttempts ?? 3, 1);
    const perTryTimeoutMs = checkNumber('retry.perTryTimeoutMs', retry.perTryTimeoutMs ?? 2_000, 1);
    const deadlineMs = checkNumber('retry.deadlineMs', retry.deadlineMs ?? 10_000, 1);
    this.#retryStatuses = new Set(
      (retry.statuses ?? DEFAULT_RETRY_STATUSES).map((s, i) => checkInteger(`retry.statuses[${i}]`, s, 100, 599)),
    );
    this.#budgetPercent = checkNumber('retry.budgetPercent', retry.budgetPercent ?? 20, 0, 100);
    this.#minRetries = checkInteger('retry.minRetryConcurrency', retry.minRetryConcurrency ?? 3);
    this.#budget = new RetryBudget({ ratio: this.#budgetPercent / 100, minPerSecond: 0, window: 10_000, clock: this.#clock });
    this.#tierOf = options.tiers.map(() => []);
    this.#router = new Router(
      options.tiers.length,
      options.balancer ?? 'p2c',
      options,
      (e) => this.#routable(e),
      (e) => e.weight * (this.#outlier?.weight(e.origin) ?? 1),
      this.#random,
    );
    this.#router.onPanic = (tier, panic) => {
      this.#metrics?.panic(tier, panic);
      this.#emit('panic', { tier, panic });
    };
    if (this.#metrics !== undefined) this.#router.onLoad = (loads) => this.#metrics?.tierLoad(loads);
    if (options.outlier !== false) {
      this.#outlier = new OutlierDetector({
        ...options.outlier,
        clock: this.#clock,
        random: this.#random,
        onChange: (origin, state, reason) => this.#outlierChanged(origin, state, reason),
        onOverflow: (origin, reason) => this.#metrics?.overflow(origin, reason),
      });
    }
    if (options.healthCheck !== undefined && options.healthCheck !== false) {
      const hc = options.healthCheck === true ? {} : options.healthCheck;
      const { path, headers, probe, ...check } = hc;
      const host = origins?.[0] === undefined ? undefined : new URL(origins[0]).host;
      this.#probe = probe === undefined ? httpProbe({ path, headers, host, timeoutMs: check.timeoutMs }) : undefined;
      this.#checker = new ActiveHealthChecker(probe ?? (this.#probe as HttpProbe), {
        downIntervalMs: DEFAULT_DOWN_INTERVAL_MS,
        fastIntervalMs: DEFAULT_FAST_INTERVAL_MS,
        ...check,
        clock: this.#clock,
        random: this.#random,
        onChange: (origin, state, reason) => this.#checkChanged(origin, state, reason),
        onCheck: (origin, result) => this.#checked(origin, result),
      });
    }
    const self = this;
    this.#host = {
      pick: (tried) => {
        const e = this.#router.pick(tried);
        if (e !== undefined) this.#checker?.noteTraffic(e.origin);
        return e;
      },
      noHealthyUpstream: () => this.#router.load().noHealthyUpstream,
      record: (e, status) => this.#outlier?.recordStatus(e.origin, status),
      connectFailed: (e, refused) => {
        if (this.#checker === undefined) return;
        this.#checkFailed.add(e.origin); // as a failed probe: the next pass means it came back
        this.#checker.observeFailure(e.origin, refused); // refused: nothing listens, down at once
      },
      connectionLost: (e) => {
        // A killed host's keep-alive connections break first; until its check, run now, says
        // whether it still listens, new requests go elsewhere (the probe takes a round trip).
        if (e.suspect || this.#checker === undefined || !this.#checker.suspect(e.origin)) return;
        e.suspect = true;
        this.#router.invalidate();
      },
      tryRetry() {
        // Envoy's rule: retries in flight within max(floor, 20 % of requests in flight). Failures come
        // in bursts (a dead host's requests fail together, timeouts fire together), so a retry past it
        // may still use the same 20 % of the requests of the last 10 s (Finagle's budget).
        const allowed = Math.max(self.#minRetries, (self.#budgetPercent / 100) * self.#inFlight);
        if (self.#retriesInFlight + 1 > allowed && !self.#budget.tryRetry()) {
          self.#metrics?.budgetExhausted();
          return false;
        }
        self.#retriesInFlight++;
        return true;
      },
      endRetry: () => {
        this.#retriesInFlight--;
      },
      retried: (reason: RetryReason) => this.#metrics?.retry(reason),
      done: (request, startedAt, status, error) => {
        if (this.#unlink(request) && this.#liveCount === 0) this.#drained?.();
        this.#inFlight--;
        this.#metrics?.request(outcomeOf(status, error), (this.#clock.now() - startedAt) / 1000);
      },
      now: () => this.#clock.now(),
      setTimeout: (fn, ms) => {
        const t = this.#clock.setTimeout(fn, ms);
        t.unref();
        return t;
      },
      perTryDeadlines: new DeadlineList(this.#clock),
      perTryTimeoutMs,
      maxAttempts,
      deadlineMs,
      retryStatuses: this.#retryStatuses,
    };
    const starts: Promise<void>[] = [];
    options.tiers.forEach((tier, i) => {
      const t: TierOptions = isList(tier) ? { endpoints: tier } : tier;
      if (t.discovery !== undefined) {
        this.#discoveries.push(t.discovery);
        starts.push(
          t.discovery.start(
            (list) => this.#setTier(i, list),
            (error) => this.#emit('discovery-error', { tier: i, error }), // the last list stays in use
          ),
        );
      } else {
        if (t.endpoints === undefined || t.endpoints.length === 0)
          throw new InvalidOptionError(`tiers[${i}] must have endpoints or a discovery`);
        this.#setTier(
          i,
          t.endpoints.map((e, j) => endpointOf(`tiers[${i}].endpoints[${j}]`, e)),
        );
      }
    });
    this.#isReady = starts.length === 0;
    this.#ready = Promise.all(starts).then(() => {
      this.#isReady = true;
    });
    this.#ready.catch(() => {}); // surfaced by ready() and by each request that waited on it
  }

  /** Resolves once every tier has its first list of endpoints (at once for static tiers). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Snapshot of every endpoint: tier, routability, outlier state, weight and requests in flight. */
  endpoints(): Array<{ origin: string; tier: number; up: boolean; outlier: OutlierState; weight: number; outstanding: number }> {
    return [...this.#endpoints.values()].map((e) => ({
      origin: e.origin,
      tier: e.tier,
      up: this.#routable(e),
      outlier: this.#outlier?.state(e.origin) ?? 'healthy',
      weight: e.weight * (this.#outlier?.weight(e.origin) ?? 1),
      outstanding: e.outstanding,
    }));
  }

  /** The share of traffic per tier in percent, and which tiers are in panic. */
  load(): { loads: readonly number[]; panic: readonly boolean[] } {
    const { loads, panic } = this.#router.load();
    return { loads, panic };
  }

  override dispatch(opts: Dispatcher.DispatchOptions, given: Dispatcher.DispatchHandler): boolean {
    // Node's own fetch still hands over the older handler shape (onConnect, onHeaders, …).
    const handler = typeof given.onRequestStart === 'function' ? given : legacy.wrapHandler(given);
    if (this.#closed) {
      handler.onResponseError?.(null as never, new errors.ClientClosedError());
      return false;
    }
    const origin = typeof opts.origin === 'string' ? opts.origin : opts.origin?.toString();
    if (this.#origins !== undefined && (origin === undefined || !this.#origins.has(stripSlash(origin)))) {
      if (this.#fallback === undefined) {
        this.#fallback = new Agent();
        this.#ownFallback = true;
      }
      return this.#fallback.dispatch(opts, handler);
    }
    this.#inFlight++;
    this.#budget.recordCall();
    const request = new FailoverRequest(this.#host, opts, handler, origin === undefined ? undefined : this.#hostOf(origin));
    if (!request.ended) this.#link(request); // its handler may have aborted at once
    if (this.#isReady) request.start();
    else
      this.#ready.then(
        () => request.start(),
        (error) => request.fail(error),
      );
    return true;
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A request between attempts (in a Retry-After wait) still needs the pools for its retry.
    if (this.#liveCount > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    if (this.#destroying !== undefined) return this.#destroying; // destroy() came during the wait
    await this.#shutdown((p) => p.close());
  }

  override async destroy(): Promise<void> {
    this.#closed = true;
    const live: FailoverRequest[] = [];
    for (let r = this.#live; r !== undefined; r = r.liveNext) live.push(r);
    for (const r of live) r.fail(new errors.ClientDestroyedError());
    this.#destroying = this.#shutdown((p) => p.destroy());
    await this.#destroying;
  }

  async #shutdown(end: (d: Dispatcher) => Promise<void>): Promise<void> {
    this.#outlier?.close();
    this.#checker?.close();
    await Promise.all([
      ...this.#discoveries.map((d) => d.close()),
      ...[...this.#endpoints.values()].map((e) => end(e.pool)),
      ...(this.#fallback !== undefined && this.#ownFallback ? [end(this.#fallback)] : []),
      ...(this.#probe === undefined ? [] : [this.#probe.close()]),
    ]);
  }

  #link(r: FailoverRequest): void {
    r.live = true;
    r.liveNext = this.#live;
    if (this.#live !== undefined) this.#live.livePrev = r;
    this.#live = r;
    this.#liveCount++;
  }

  /** Takes `r` out of the live list; false when it was not in it. */
  #unlink(r: FailoverRequest): boolean {
    if (!r.live) return false;
    r.live = false;
    if (r.livePrev !== undefined) r.livePrev.liveNext = r.liveNext;
    else this.#live = r.liveNext;
    if (r.liveNext !== undefined) r.liveNext.livePrev = r.livePrev;
    r.livePrev = r.liveNext = undefined;
    this.#liveCount--;
    return true;
  }

  #emit<K extends keyof FailoverEvents>(event: K, payload: FailoverEvents[K]): void {
    EventEmitter.prototype.emit.call(this, event, payload); // undici's types allow only its own event names
  }

  #hostOf(origin: string): HostHeader {
    let host = this.#hosts.get(origin);
    if (host === undefined) {
      host = hostHeader(new URL(origin).host);
      if (this.#hosts.size < 1000) this.#hosts.set(origin, host); // routing every origin must not grow without bound
    }
    return host;
  }

  #routable(e: Endpoint): boolean {
    return e.checkUp && !e.draining && !e.suspect && (this.#outlier === undefined || this.#outlier.state(e.origin) !== 'ejected');
  }

  #setTier(tier: number, list: readonly DiscoveredEndpoint[]): void {
    const current = this.#tierOf[tier] as Endpoint[];
    const next: Endpoint[] = [];
    const seen = new Set<string>();
    for (const d of list) {
      const origin = stripSlash(d.origin);
      if (seen.has(origin)) continue;
      seen.add(origin);
      let e = this.#endpoints.get(origin);
      if (e !== undefined && e.tier !== tier) continue; // one endpoint, one tier: the earlier tier keeps it
      if (e === undefined) {
        e = {
          origin,
          tier,
          pool: new Pool(origin, this.#poolOptions),
          weight: 1,
          outstanding: 0,
          checkUp: true,
          draining: false,
          suspect: false,
        };
        this.#endpoints.set(origin, e);
        this.#outlier?.add(origin);
        this.#checker?.add(origin);
        this.#metrics?.endpoint(origin, true);
        this.#metrics?.state(origin, true, false);
      }
      e.weight = d.weight ?? 1;
      e.draining = d.draining === true;
      next.push(e);
    }
    for (const e of current) {
      if (seen.has(e.origin)) continue;
      this.#endpoints.delete(e.origin);
      this.#outlier?.remove(e.origin);
      this.#checker?.remove(e.origin);
      this.#checkFailed.delete(e.origin);
      this.#metrics?.endpoint(e.origin, false);
      e.pool.close().catch(() => {}); // its requests in flight finish; a failed close is nothing to report
    }
    this.#tierOf[tier] = next;
    this.#router.setEndpoints(tier, next);
  }

  #checkChanged(origin: string, state: CheckState, reason: string): void {
    const e = this.#endpoints.get(origin);
    if (e === undefined) return;
    e.checkUp = state === 'up';
    this.#router.invalidate();
    this.#metrics?.state(origin, this.#routable(e), this.#outlier?.state(origin) === 'ejected');
    this.#emit('health', { origin, tier: e.tier, up: e.checkUp, reason });
  }

  #checked(origin: string, result: 'pass' | 'fail' | 'drain'): void {
    this.#metrics?.healthCheck(origin, result);
    const e = this.#endpoints.get(origin);
    if (e?.suspect === true) {
      e.suspect = false; // a failure takes it down in the onChange that follows
      this.#router.invalidate();
    }
    if (result !== 'pass') this.#checkFailed.add(origin);
    // A pass after a failed check means the host came back (a restart): end its ejection now, as
    // Envoy does on a passing check. A host that never failed its check keeps serving its ejection,
    // so a healthy /readiness does not keep letting in a host whose requests fail.
    else if (this.#checkFailed.delete(origin)) this.#outlier?.uneject(origin);
  }

  #outlierChanged(origin: string, state: OutlierState, reason: string | undefined): void {
    const e = this.#endpoints.get(origin);
    if (e === undefined) return;
    this.#router.invalidate();
    this.#metrics?.state(origin, this.#routable(e), state === 'ejected');
    if (state === 'ejected') {
      this.#metrics?.ejection(origin, reason ?? 'unknown');
      this.#emit('eject', { origin, tier: e.tier, reason: reason ?? 'unknown' });
      this.#ejected.add(origin);
    } else if (this.#ejected.delete(origin)) {
      this.#emit('uneject', { origin, tier: e.tier });
    }
  }
}

function outcomeOf(status: number | undefined, error: unknown): UpstreamOutcome {
  if (status !== undefined) return status >= 500 ? 'server_error' : 'success';
  return (error as { code?: string } | undefined)?.code === 'NINES_NO_HEALTHY_UPSTREAM' ? 'no_healthy_upstream' : 'error';
}

function isList(tier: TierOptions | readonly (string | DiscoveredEndpoint)[]): tier is readonly (string | DiscoveredEndpoint)[] {
  return Array.isArray(tier);
}

function stripSlash(origin: string): string {
  return origin.endsWith('/') ? origin.slice(0, -1) : origin;
}
