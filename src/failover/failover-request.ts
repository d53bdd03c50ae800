import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { NinesError } from '../core/errors.js';
import { Deadline, type DeadlineList } from '../policy/deadline-list.js';
import { parseRetryAfter } from '../policy/retry-after.js';
import type { Endpoint } from './router.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type Headers = Record<string, string | string[] | undefined>;

/** What ended an attempt that is not the response the caller gets. */
export type RetryReason = 'connect' | 'reset' | 'timeout' | 'status';

/** The dispatcher's side of a request: routing, outlier feedback, budget and metrics. */
export interface RequestHost {
  /** The host for an attempt, skipping `tried`; undefined when none is left. */
  pick(tried: ReadonlySet<Endpoint> | undefined): Endpoint | undefined;
  /** True when no host at all can take traffic and the request must fail fast. */
  noHealthyUpstream(): boolean;
  /** Feeds one attempt's result to outlier detection: its status, or undefined when it got no answer. */
  record(endpoint: Endpoint, status: number | undefined): void;
  /** The attempt could not connect to the host at all (refused, unreachable). */
  connectFailed(endpoint: Endpoint, refused: boolean): void;
  /** The attempt's connection broke off (reset, closed by the other side): the host may have died. */
  connectionLost(endpoint: Endpoint): void;
  /** Takes one retry from the budget; false when it is exhausted. */
  tryRetry(): boolean;
  /** Gives back a retry taken with {@link RequestHost.tryRetry}, once that attempt ends. */
  endRetry(): void;
  /** Called once per retry with its reason. */
  retried(reason: RetryReason): void;
  /** Called once when `request` ends: the final status, or the error. */
  done(request: FailoverRequest, startedAt: number, status: number | undefined, error: unknown): void;
  /** Milliseconds since the epoch. */
  now(): number;
  /** Timer on the dispatcher's clock. */
  setTimeout(fn: () => void, ms: number): { clear(): void };
  /** The per-try timeouts of every request, on one timer. */
  readonly perTryDeadlines: DeadlineList;
  readonly perTryTimeoutMs: number;
  readonly maxAttempts: number;
  readonly deadlineMs: number;
  readonly retryStatuses: ReadonlySet<number>;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Errors raised before the request reached the host: safe to retry for every method. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Errors of a connection that broke off: what a killed or restarting host's requests get first. */
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** The per-try timeout's error: an attempt that had no response headers in time. */
export class AttemptTimeoutError extends NinesError {
  constructor(ms: number, origin: string) {
    super('NINES_TIMEOUT', `no response from ${origin} within the per-try timeout of ${ms} ms`);
  }
}

/**
 * The stable controller the caller's handler holds for the whole request, while each attempt has
 * its own: pause, resume and abort go to the current attempt.
 */
class RequestController implements Controller {
  readonly #req: FailoverRequest;
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  target: Controller | undefined;

  constructor(req: FailoverRequest) {
    this.#req = req;
  }

  pause(): void {
    this.#paused = true;
    this.target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.target?.resume();
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.target?.abort(reason);
    this.#req.aborted(reason);
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  get rawHeaders(): Buffer[] | null | undefined {
    return (this.target as { rawHeaders?: Buffer[] | null } | undefined)?.rawHeaders;
  }

  get rawTrailers(): Buffer[] | null | undefined {
    return (this.target as { rawTrailers?: Buffer[] | null } | undefined)?.rawTrailers;
  }
}

/** One attempt on one host; its callbacks count only while it is the request's current attempt. */
class Attempt extends Deadline implements Handler {
  readonly req: FailoverRequest;
  readonly endpoint: Endpoint;
  /** Holds a slot of the retry budget. */
  readonly budgeted: boolean;
  controller: Controller | undefined;
  /** The request was handed to a connection: from here it may have reached the host. */
  started = false;
  /** Its response is discarded (a retried status); the next attempt starts when it ends. */
  discarding = false;
  /** Replaced by another attempt (timed out before it started): aborted as soon as it starts. */
  abandoned = false;
  ended = false;
  timer: { clear(): void } | undefined;

  constructor(req: FailoverRequest, endpoint: Endpoint, budgeted: boolean) {
    super();
    this.req = req;
    this.endpoint = endpoint;
    this.budgeted = budgeted;
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.abandoned || this.req.attempt !== this) {
      controller.abort(new AttemptTimeoutError(this.req.host.perTryTimeoutMs, this.endpoint.origin));
      return;
    }
    this.started = true;
    this.req.started(controller);
  }

  onRequestUpgrade(_c: Controller, statusCode: number, headers: Headers, socket: import('node:stream').Duplex): void {
    if (this.#current()) this.req.upgrade(this, statusCode, headers, socket);
  }

  onResponseStart(_c: Controller, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (this.#current()) this.req.responseStart(this, statusCode, headers, statusMessage);
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    if (this.#current() && !this.discarding) this.req.data(chunk);
  }

  onResponseEnd(_c: Controller, trailers: Headers): void {
    const current = this.#current();
    this.end();
    if (current) this.req.responseEnd(this, trailers);
  }

  onResponseError(c: Controller | null, error: Error): void {
    const current = this.#current();
    this.end();
    if (!current) return; // replaced, or given up on by us (the per-try timeout aborts it)
    // Aborted by someone else, e.g. the caller through the pool's queued-abort hook: not a host failure.
    if (c?.aborted === true) this.req.fail(error);
    else this.req.responseError(this, error);
  }

  /** Its callbacks count: it is the request's attempt and was not given up on. */
  #current(): boolean {
    return this.req.attempt === this && !this.abandoned;
  }

  /** The per-try timeout passed without response headers. */
  expire(): void {
    this.req.timeout(this);
  }

  /** Stops its per-try timeout (headers came, or it ended). */
  stopTimer(): void {
    this.req.host.perTryDeadlines.remove(this);
    this.timer?.clear();
  }

  /** Once per attempt: gives back its slot on the host and in the retry budget. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopTimer();
    this.endpoint.outstanding--;
    if (this.budgeted) this.req.host.endRetry();
  }
}

/**
 * One caller's request across its attempts: routes each attempt, decides after each failure
 * whether another host may be tried, and forwards exactly one response (or one error) to the
 * caller's handler.
 */
export class FailoverRequest {
  readonly host: RequestHost;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #headers: Dispatcher.DispatchOptions['headers'];
  readonly #handler: Handler;
  readonly #controller: RequestController;
  /** After this no attempt starts; the request began `deadlineMs` before it (one number kept, not two). */
  readonly #deadline: number;
  readonly #afterWrite: boolean;
  #tried: Set<Endpoint> | undefined;
  #attempts = 0;
  #committed = false;
  /** A retry slot taken from the budget that no attempt owns yet (during a discard or a Retry-After wait). */
  #retryHeld = false;
  #finished = false;
  #wait: { clear(): void } | undefined;
  #lastError: unknown;
  /** The attempt whose callbacks count. */
  attempt: Attempt | undefined;
  /** @internal The dispatcher's list of requests not yet ended (a list through the requests, no Set to hash into). */
  livePrev: FailoverRequest | undefined = undefined;
  /** @internal */ liveNext: FailoverRequest | undefined = undefined;
  /** @internal */ live = false;

  /** `hostHeader` is the logical origin's host, sent unless the caller set its own. */
  constructor(host: RequestHost, opts: Dispatcher.DispatchOptions, handler: Handler, hostHeader: HostHeader | undefined) {
    this.host = host;
    this.#handler = handler;
    this.#controller = new RequestController(this);
    this.#deadline = host.now() + host.deadlineMs;
    const method = opts.method ?? 'GET';
    const headers = flatHeaders(opts.headers);
    this.#afterWrite = IDEMPOTENT.has(method) || IDEMPOTENT.has(method.toUpperCase()) || hasHeader(headers, 'idempotency-key');
    this.#opts = opts;
    this.#headers = hostHeader === undefined ? headers : withHost(headers, hostHeader);
    // The caller gets its controller now, not when an attempt reaches a connection: otherwise it
    // could not abort a request queued in a busy pool, waiting on discovery or on a Retry-After.
    this.#handler.onRequestStart?.(this.#controller, null);
  }

  /** Sends the first attempt. */
  start(): void {
    if (this.#finished) return; // aborted already
    if (this.host.noHealthyUpstream()) {
      this.#fail(new NinesError('NINES_NO_HEALTHY_UPSTREAM', 'no healthy upstream: every endpoint is down and panic is disabled'));
      return;
    }
    this.#send(false);
  }

  /** `budgeted`: the attempt holds a slot of the retry budget, given back when it ends; `chosen`: its host, already picked. */
  #send(budgeted: boolean, chosen?: Endpoint): void {
    const endpoint = chosen ?? this.host.pick(this.#tried);
    if (endpoint === undefined) {
      this.#fail(this.#lastError ?? new NinesError('NINES_NO_HEALTHY_UPSTREAM', 'no healthy upstream: no endpoint can take the request'));
      return;
    }
    this.#attempts++;
    const attempt = new Attempt(this, endpoint, budgeted);
    if (budgeted) this.#retryHeld = false; // the attempt gives the slot back when it ends
    this.attempt = attempt;
    endpoint.outstanding++;
    const left = this.#deadline - this.host.now();
    if (left >= this.host.perTryTimeoutMs) this.host.perTryDeadlines.add(attempt, this.host.perTryTimeoutMs);
    else attempt.timer = this.host.setTimeout(() => this.timeout(attempt), Math.max(1, left)); // the deadline is nearer
    const opts = { ...this.#opts, origin: endpoint.origin, headers: this.#headers };
    try {
      endpoint.pool.dispatch(opts, attempt);
    } catch (error) {
      attempt.onResponseError(null, error as Error);
    }
  }

  /** An attempt's per-try timeout (or the request's deadline) passed before its response headers. */
  timeout(attempt: Attempt): void {
    if (this.attempt !== attempt || attempt.ended) return;
    const error = new AttemptTimeoutError(this.host.perTryTimeoutMs, attempt.endpoint.origin);
    this.host.record(attempt.endpoint, undefined);
    // Abandoned first: the abort below reports its error synchronously, and that must not count as a second failure.
    attempt.abandoned = true;
    attempt.end();
    attempt.controller?.abort(error); // not started yet: it aborts itself when it starts
    this.#failed(attempt, error, 'timeout');
  }

  /** An attempt reached a connection: the caller's controller now steers it (pause, resume, abort). */
  started(controller: Controller): void {
    this.#controller.target = controller;
    if (this.#controller.paused) controller.pause();
  }

  upgrade(attempt: Attempt, statusCode: number, headers: Headers, socket: import('node:stream').Duplex): void {
    attempt.stopTimer();
    this.#committed = true;
    this.#finished = true;
    this.host.record(attempt.endpoint, statusCode);
    this.host.done(this, this.#deadline - this.host.deadlineMs, statusCode, undefined);
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  responseStart(attempt: Attempt, statusCode: number, headers: Headers, statusMessage?: string): void {
    if (statusCode < 200) {
      this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
      return;
    }
    attempt.stopTimer();
    this.host.record(attempt.endpoint, statusCode);
    if (this.host.retryStatuses.has(statusCode) && this.#afterWrite && this.#bodyReplayable()) {
      const delay = retryAfterMs(headers['retry-after'], this.host.now());
      if (delay <= this.#deadline - this.host.now() && this.#canRetry()) {
        // Chosen now: with no other host left, the caller gets this answer rather than an error.
        const next = this.#pickOther(attempt.endpoint);
        if (next !== undefined) {
          attempt.discarding = true; // read and drop its body, keeping the connection; retry when it ends
          this.#lastStatus = { statusCode, delay, next };
          return;
        }
        this.#releaseHeld();
      }
    }
    this.#committed = true;
    this.#status = statusCode;
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
  }

  #lastStatus: { statusCode: number; delay: number; next: Endpoint } | undefined;

  /** The host a retry after `failed` would go to, or undefined when every host was tried. */
  #pickOther(failed: Endpoint): Endpoint | undefined {
    this.#markTried(failed);
    return this.host.pick(this.#tried);
  }
  #status: number | undefined;

  data(chunk: Buffer): void {
    this.#handler.onResponseData?.(this.#controller, chunk);
  }

  responseEnd(attempt: Attempt, trailers: Headers): void {
    if (attempt.discarding) {
      this.#retryAfterStatus(attempt);
      return;
    }
    this.#finished = true;
    this.host.done(this, this.#deadline - this.host.deadlineMs, this.#status, undefined);
    this.#handler.onResponseEnd?.(this.#controller, trailers);
  }

  responseError(attempt: Attempt, error: Error): void {
    if (this.#finished) return;
    if (this.#controller.aborted) {
      this.#fail(this.#controller.reason ?? error);
      return;
    }
    if (attempt.discarding) {
      this.#retryAfterStatus(attempt); // the dropped body broke off: the retry goes ahead anyway
      return;
    }
    if (this.#committed) {
      this.#fail(error);
      return;
    }
    this.host.record(attempt.endpoint, undefined);
    const code = (error as { code?: string }).code ?? '';
    if (CONNECT_CODES.has(code) && code !== 'ENOTFOUND' && code !== 'EAI_AGAIN')
      this.host.connectFailed(attempt.endpoint, code === 'ECONNREFUSED');
    else if (LOST_CODES.has(code)) this.host.connectionLost(attempt.endpoint);
    this.#failed(attempt, error, !attempt.started || CONNECT_CODES.has(code) ? 'connect' : 'reset');
  }

  /** An attempt failed without a response the caller gets: try another host or give up. */
  #failed(attempt: Attempt, error: unknown, reason: RetryReason): void {
    this.#lastError = error;
    // Before the request reached the host every method is safe; after, only idempotent ones.
    const reached = attempt.started;
    const safe = reached ? this.#afterWrite && this.#bodyReplayable() : this.#bodyUntouched();
    // A request that never reached its host adds no load when sent elsewhere: outside the budget.
    // Not one that timed out still queued: the client or the pool is overloaded, and retries
    // outside the budget would add a queued attempt per request, every per-try timeout.
    const budgeted = reached || reason === 'timeout';
    if (safe && this.host.now() < this.#deadline && (budgeted ? this.#canRetry() : this.#attempts < this.host.maxAttempts)) {
      this.#markTried(attempt.endpoint);
      this.host.retried(reason);
      this.#send(reached);
      return;
    }
    this.#fail(error);
  }

  #retryAfterStatus(attempt: Attempt): void {
    const last = this.#lastStatus as { statusCode: number; delay: number; next: Endpoint };
    this.#lastError = new NinesError('NINES_HTTP_ERROR', `${attempt.endpoint.origin} answered ${last.statusCode}`);
    this.host.retried('status');
    if (last.delay <= 0) {
      this.#send(true, last.next);
      return;
    }
    this.#wait = this.host.setTimeout(() => {
      this.#wait = undefined;
      if (!this.#finished) this.#send(true, last.next);
    }, last.delay);
  }

  #markTried(endpoint: Endpoint): void {
    if (this.#tried === undefined) this.#tried = new Set();
    this.#tried.add(endpoint);
  }

  /** True when attempts are left and the budget gives one more; takes it from the budget. */
  #canRetry(): boolean {
    if (this.#attempts >= this.host.maxAttempts || !this.host.tryRetry()) return false;
    this.#retryHeld = true;
    return true;
  }

  #releaseHeld(): void {
    if (!this.#retryHeld) return;
    this.#retryHeld = false;
    this.host.endRetry();
  }

  #bodyReplayable(): boolean {
    const body = this.#opts.body;
    return body == null || typeof body === 'string' || body instanceof Uint8Array;
  }

  #bodyUntouched(): boolean {
    const body = this.#opts.body as unknown;
    if (this.#bodyReplayable()) return true;
    return typeof body === 'object' && body !== null && 'pipe' in body && !Readable.isDisturbed(body as Readable);
  }

  /** The caller aborted through its controller. */
  aborted(reason: Error): void {
    this.#wait?.clear();
    const a = this.attempt;
    if (a !== undefined && !a.ended && a.started) return; // its controller got the abort: its error ends the request
    if (a !== undefined && !a.ended) {
      a.abandoned = true; // queued in its pool: it aborts itself when it starts
      a.end();
    }
    this.#fail(reason);
  }

  /** True once the caller has had its response or its error. */
  get ended(): boolean {
    return this.#finished;
  }

  /** Ends the request with `error` (discovery failed, the dispatcher was destroyed, an abort from outside). */
  fail(error: unknown): void {
    this.#fail(error);
  }

  #fail(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#wait?.clear();
    const a = this.attempt;
    this.attempt = undefined; // nothing more reaches the caller
    if (a !== undefined && !a.ended) {
      a.end();
      a.abandoned = true; // queued: it aborts itself when it starts
      a.controller?.abort(error as Error);
    }
    this.#releaseHeld(); // aborted or failed before its retry started: the slot goes back
    this.host.done(this, this.#deadline - this.host.deadlineMs, undefined, error);
    this.#handler.onResponseError?.(this.#controller, error as Error);
  }
}

/** ms to wait before the retry a response's `Retry-After` asks for; 0 when it has none or an unreadable one. */
function retryAfterMs(value: string | string[] | undefined, now: number): number {
  if (value === undefined) return 0;
  const ms = parseRetryAfter(Array.isArray(value) ? value[0] : value, now);
  return ms === undefined ? 0 : ms;
}

/** Iterable headers (`Headers`, a Map, a generator) as a flat array, read once: each attempt sends them again. */
function flatHeaders(headers: Dispatcher.DispatchOptions['headers']): Dispatcher.DispatchOptions['headers'] {
  if (headers == null || Array.isArray(headers) || typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') return headers;
  return [...(headers as Iterable<[string, string]>)].flat();
}

function hasHeader(headers: Dispatcher.DispatchOptions['headers'], name: string): boolean {
  if (headers == null) return false;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return true;
    return false;
  }
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return true;
  return false;
}

/** The logical origin's host, with the headers of a request that sets none, built once per origin. */
export interface HostHeader {
  readonly host: string;
  /** `{ host }`, frozen: shared by every request without headers of its own. */
  readonly only: Readonly<Record<string, string>>;
}

/** The {@link HostHeader} of `host`. */
export function hostHeader(host: string): HostHeader {
  return { host, only: Object.freeze({ host }) };
}

/** The caller's headers with `host` set to the logical origin's, unless the caller set one. */
function withHost(headers: Dispatcher.DispatchOptions['headers'], h: HostHeader): Dispatcher.DispatchOptions['headers'] {
  if (headers == null) return h.only;
  if (hasHeader(headers, 'host')) return headers;
  const { host } = h;
  if (Array.isArray(headers)) return [...headers, 'host', host];
  return { ...(headers as Record<string, string>), host };
}
