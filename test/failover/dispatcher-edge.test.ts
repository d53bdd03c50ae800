import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { type Dispatcher, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { FailoverDispatcher, type FailoverDispatcherOptions } from '../../src/failover/index.js';
import { createMetricsRegistry, upstreamMetrics } from '../../src/metrics/index.js';
import { freePort } from '../support/e2e.js';
import { listen } from '../support/http.js';

type Handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

interface Upstream {
  url: string;
  hits: number;
  connections: number;
  lastHost?: string;
  lastKey?: string;
  lastBody?: Buffer;
  handle: Handle;
  /** Responses held open by `hang`. */
  held: ServerResponse[];
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ok: Handle = (_req, res) => res.end('ok');
const hang: Handle = () => {};
const unavailable =
  (retryAfter?: string): Handle =>
  (_req, res) =>
    res.writeHead(503, retryAfter === undefined ? {} : { 'retry-after': retryAfter }).end('unavailable');
const reset: Handle = (req) => req.socket.destroy();
/** Sends the headers and `first`, then holds the rest of the body. */
const partial =
  (first: string): Handle =>
  (_req, res) => {
    res.writeHead(200);
    res.write(first);
  };

async function upstream(handle: Handle = ok): Promise<Upstream> {
  const u: Upstream = { url: '', hits: 0, connections: 0, handle, held: [] };
  const s = await listen((req: IncomingMessage, res: ServerResponse) => {
    u.hits++;
    u.lastHost = req.headers.host;
    u.lastKey = req.headers['idempotency-key'] as string | undefined;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      u.lastBody = Buffer.concat(chunks);
      u.held.push(res);
      u.handle(req, res, u.lastBody);
    });
  });
  s.server.on('connection', () => u.connections++);
  u.url = s.url;
  cleanups.push(() => s.close());
  return u;
}

/** An origin nobody listens on: connections are refused. */
async function deadPort(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

/** `a` answering with `handle` and an `ok` backup tier `b`, so a retry after a failure on `a` would show on `b`. */
async function withBackup(handle: Handle, options: Partial<FailoverDispatcherOptions> = {}) {
  const a = await upstream(handle);
  const b = await upstream();
  return { a, b, s: setup({ tiers: [[a.url], [b.url]], mode: 'backup', ...options }) };
}

interface Setup {
  d: FailoverDispatcher;
  clock: ManualClock;
  /** `nines_upstream_requests_total` by outcome. */
  outcomes(): Promise<Record<string, number>>;
  /** `nines_upstream_retries_total` by reason, and the budget-exhausted count. */
  retries(): Promise<Record<string, number>>;
}

async function counters(registry: ReturnType<typeof createMetricsRegistry>, name: string, label: string) {
  const out: Record<string, number> = {};
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  for (const v of (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string> }>) {
    if (v.value > 0) out[v.labels[label] ?? ''] = v.value;
  }
  return out;
}

function setup(options: Omit<FailoverDispatcherOptions, 'clock' | 'metrics'>): Setup {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const registry = createMetricsRegistry();
  const d = new FailoverDispatcher({ outlier: false, name: 'api', ...options, clock, metrics: upstreamMetrics(registry) });
  cleanups.push(() => d.destroy());
  return {
    d,
    clock,
    outcomes: () => counters(registry, 'nines_upstream_requests_total', 'outcome'),
    retries: async () => ({
      ...(await counters(registry, 'nines_upstream_retries_total', 'reason')),
      ...(await counters(registry, 'nines_upstream_retry_budget_exhausted_total', 'upstream')),
    }),
  };
}

/** Waits (real time, generously bounded) until `cond` holds. */
async function until(cond: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function outstanding(d: FailoverDispatcher): number {
  return d.endpoints().reduce((n, e) => n + e.outstanding, 0);
}

/** Nothing left behind: no attempt in flight, and no timer that would start another one. */
async function expectQuiet(s: Setup, ...servers: Upstream[]): Promise<void> {
  await until(() => outstanding(s.d) === 0, 'outstanding 0');
  const hits = servers.map((u) => u.hits);
  await s.clock.advance(60_000); // a leaked Retry-After wait or per-try timer would fire here
  await new Promise((r) => setTimeout(r, 20));
  expect(servers.map((u) => u.hits)).toEqual(hits);
  expect(s.clock.pendingTimers).toBe(0);
  expect(outstanding(s.d)).toBe(0);
}

/** `nines_upstream_requests_total` by outcome and the retries match what the callers saw. */
async function expectCounts(s: Setup, outcomes: Record<string, number>, retries: Record<string, number>): Promise<void> {
  expect(await s.outcomes()).toEqual(outcomes);
  expect(await s.retries()).toEqual(retries);
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('FailoverDispatcher: caller aborts', () => {
  it('an abort while the attempt waits in a busy pool ends the request at once, with no retry', async () => {
    const h = await upstream(hang);
    const b = await upstream();
    const s = setup({ tiers: [[h.url], [b.url]], mode: 'backup', pool: { connections: 1 } });
    const first = new AbortController();
    const p1 = request('http://api/1', { dispatcher: s.d, signal: first.signal });
    await until(() => h.hits === 1);
    const second = new AbortController();
    const p2 = request('http://api/2', { dispatcher: s.d, signal: second.signal });
    await until(() => outstanding(s.d) === 2);
    second.abort();
    await expect(p2).rejects.toMatchObject({ name: 'AbortError' });
    expect(outstanding(s.d)).toBe(1);
    // the first, during its attempt
    first.abort();
    await expect(p1).rejects.toMatchObject({ name: 'AbortError' });
    await expectQuiet(s, h, b);
    expect(b.connections).toBe(0);
    expect(h.hits).toBe(1);
    await expectCounts(s, { error: 2 }, {});
  });

  it('fetch: an abort while queued and one during the attempt each reject once, with no retry', async () => {
    const h = await upstream(hang);
    const b = await upstream();
    const s = setup({ tiers: [[h.url], [b.url]], mode: 'backup', pool: { connections: 1 } });
    const first = new AbortController();
    const p1 = fetch('http://api/1', { dispatcher: s.d, signal: first.signal } as RequestInit);
    await until(() => h.hits === 1);
    const second = new AbortController();
    const p2 = fetch('http://api/2', { dispatcher: s.d, signal: second.signal } as RequestInit);
    await until(() => outstanding(s.d) === 2);
    second.abort();
    await expect(p2).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => outstanding(s.d) === 1, 'the queued attempt gone');
    first.abort();
    await expect(p1).rejects.toMatchObject({ name: 'AbortError' });
    await expectQuiet(s, h, b);
    expect(b.connections).toBe(0);
    await expectCounts(s, { error: 2 }, {});
  });

  it('an abort during a Retry-After wait ends the request, never retries, and gives back its budget slot', async () => {
    const { a, b, s } = await withBackup(unavailable('5'), { retry: { budgetPercent: 0, minRetryConcurrency: 1 } });
    const ac = new AbortController();
    const p = request('http://api/', { dispatcher: s.d, signal: ac.signal });
    await until(async () => (await s.retries()).status === 1, 'the Retry-After wait');
    await s.clock.advance(1_000);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await expectQuiet(s, a, b);
    expect(b.hits).toBe(0);
    // the one budget slot is free again: the next 503 is retried on b
    a.handle = unavailable('0');
    const res = await request('http://api/', { dispatcher: s.d });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok');
    await expectCounts(s, { error: 1, success: 1 }, { status: 2 });
  });

  it('fetch: an abort during a Retry-After wait rejects once and never retries', async () => {
    const { a, b, s } = await withBackup(unavailable('5'));
    const ac = new AbortController();
    const p = fetch('http://api/', { dispatcher: s.d, signal: ac.signal } as RequestInit);
    await until(async () => (await s.retries()).status === 1, 'the Retry-After wait');
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await expectQuiet(s, a, b);
    expect(b.hits).toBe(0);
    expect(await s.outcomes()).toEqual({ error: 1 });
  });

  it('an abort after the headers, while the body streams, errors the body once and retries nothing', async () => {
    const { a, b, s } = await withBackup(partial('first chunk'));
    const ac = new AbortController();
    const res = await request('http://api/', { dispatcher: s.d, signal: ac.signal });
    const it = res.body[Symbol.asyncIterator]();
    expect(String((await it.next()).value)).toBe('first chunk');
    ac.abort();
    await expect(it.next()).rejects.toMatchObject({ name: 'AbortError' });
    // fetch, the same
    const ac2 = new AbortController();
    const fres = await fetch('http://api/', { dispatcher: s.d, signal: ac2.signal } as RequestInit);
    const reader = (fres.body as ReadableStream<Uint8Array>).getReader();
    expect(Buffer.from((await reader.read()).value as Uint8Array).toString()).toBe('first chunk');
    ac2.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    await expectQuiet(s, a, b);
    expect(b.hits).toBe(0);
    await expectCounts(s, { error: 2 }, {});
  });
});

describe('FailoverDispatcher: responses', () => {
  it('a slow reader pauses the attempt that answers (a retry), and a large body arrives intact', async () => {
    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7) & 0xff;
    const expected = createHash('sha256');
    for (let i = 0; i < total / chunk.length; i++) expected.update(chunk);
    let sent = 0;
    let finished = false;
    const big = await upstream((_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end(() => {
          finished = true;
        });
      };
      pump();
    });
    const s = setup({ tiers: [[await deadPort()], [big.url]], mode: 'backup' });
    const res = await request('http://api/', { dispatcher: s.d, highWaterMark: 64 * 1024 });
    // Not reading: the server must stall on TCP backpressure (real time, but the margin is wide:
    // without backpressure 32 MB cross loopback long before this).
    await new Promise((r) => setTimeout(r, 500));
    expect(finished).toBe(false);
    expect(sent).toBeLessThan(total);
    const hash = createHash('sha256');
    for await (const c of res.body) hash.update(c as Buffer);
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    await expectQuiet(s, big);
    await expectCounts(s, { success: 1 }, { connect: 1 });
  });

  it('a 503 from the only host left reaches the caller as the 503, not as an error', async () => {
    const a = await upstream(unavailable());
    const s = setup({ tiers: [[a.url]] });
    const res = await request('http://api/', { dispatcher: s.d });
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toBe('unavailable');
    const b = await upstream(unavailable());
    const two = setup({ tiers: [[a.url, b.url]] });
    const res2 = await request('http://api/', { dispatcher: two.d });
    expect(res2.statusCode).toBe(503);
    await res2.body.text();
    expect(a.hits + b.hits).toBe(3);
    await expectQuiet(s, a);
    await expectQuiet(two, a, b);
    expect(await s.outcomes()).toEqual({ server_error: 1 });
    await expectCounts(two, { server_error: 1 }, { status: 1 });
  });

  it('Retry-After in seconds and as a date is waited for on the clock, then another host answers', async () => {
    const a = await upstream(unavailable('2'));
    const b = await upstream((_req, res) => res.end('b'));
    const s = setup({ tiers: [[a.url], [b.url]], mode: 'backup' });
    let settled = false;
    const p = request('http://api/', { dispatcher: s.d }).finally(() => {
      settled = true;
    });
    await until(async () => (await s.retries()).status === 1, 'the Retry-After wait');
    await s.clock.advance(1_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(b.hits).toBe(0);
    expect(settled).toBe(false);
    await s.clock.advance(1);
    const res = await p;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('b');
    // the HTTP-date form, 3 s ahead of the manual clock
    a.handle = unavailable(new Date(s.clock.now() + 3_000).toUTCString());
    const p2 = request('http://api/', { dispatcher: s.d });
    await until(async () => (await s.retries()).status === 2, 'the Retry-After wait');
    await s.clock.advance(2_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(b.hits).toBe(1);
    await s.clock.advance(1);
    expect((await p2).statusCode).toBe(200);
    await expectQuiet(s, a, b);
    await expectCounts(s, { success: 2 }, { status: 2 });
  });

  it('HEAD, 204 and 304 end without a body; 103 Early Hints then 200; trailers reach the caller', async () => {
    const a = await upstream((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
      else if (req.url === '/103') {
        res.writeEarlyHints({ link: '</style.css>; rel=preload' });
        res.end('after hints');
      } else if (req.url === '/trailers') {
        res.writeHead(200, { trailer: 'x-checksum' });
        res.write('body');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end();
      } else res.writeHead(200, { 'content-length': '5' }).end(req.method === 'HEAD' ? undefined : 'hello');
    });
    const s = setup({ tiers: [[a.url]] });
    const head = await request('http://api/', { dispatcher: s.d, method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    expect(await head.body.text()).toBe('');
    for (const code of [204, 304]) {
      const r = await request(`http://api/${code}`, { dispatcher: s.d });
      expect(r.statusCode).toBe(code);
      expect(await r.body.text()).toBe('');
    }
    const infos: number[] = [];
    const hinted = await request('http://api/103', { dispatcher: s.d, onInfo: (i) => infos.push(i.statusCode) });
    expect(hinted.statusCode).toBe(200);
    expect(await hinted.body.text()).toBe('after hints');
    expect(infos).toEqual([103]);
    const fetched = await fetch('http://api/103', { dispatcher: s.d } as RequestInit);
    expect(await fetched.text()).toBe('after hints');
    const t = await request('http://api/trailers', { dispatcher: s.d });
    expect(await t.body.text()).toBe('body');
    expect(t.trailers).toEqual({ 'x-checksum': 'abc' });
    await expectQuiet(s, a);
    expect(await s.outcomes()).toEqual({ success: 6 });
  });

  it('the per-try timeout never fires after the headers: a body slower than it completes', async () => {
    const { a, b, s } = await withBackup(partial('part 1, '), { retry: { perTryTimeoutMs: 100, deadlineMs: 1_000 } });
    const res = await request('http://api/', { dispatcher: s.d });
    await s.clock.advance(5_000); // past the per-try timeout and the deadline
    (a.held[0] as ServerResponse).end('part 2');
    expect(await res.body.text()).toBe('part 1, part 2');
    await expectQuiet(s, a, b);
    expect(b.hits).toBe(0);
    await expectCounts(s, { success: 1 }, {});
  });

  it('a caller handler that throws in onResponseData gets one error; nothing is retried or crashes', async () => {
    const { a, b, s } = await withBackup(partial('x'));
    const errors: Error[] = [];
    let ends = 0;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart() {},
      onResponseData() {
        throw new Error('handler bug');
      },
      onResponseEnd() {
        ends++;
      },
      onResponseError(_c, e) {
        errors.push(e);
      },
    };
    s.d.dispatch({ origin: 'http://api', path: '/', method: 'GET' }, handler);
    await until(() => errors.length > 0);
    await expectQuiet(s, a, b);
    expect(errors.map((e) => e.message)).toEqual(['handler bug']);
    expect(ends).toBe(0);
    expect(b.hits).toBe(0);
    a.handle = ok;
    expect((await request('http://api/', { dispatcher: s.d })).statusCode).toBe(200);
    await expectCounts(s, { error: 1, success: 1 }, {});
  });
});

describe('FailoverDispatcher: request bodies', () => {
  it('a stream POST to a refused host is retried without being read, and arrives intact', async () => {
    const b = await upstream();
    const s = setup({ tiers: [[await deadPort()], [b.url]], mode: 'backup' });
    const payload = Buffer.alloc(256 * 1024, 'z');
    const res = await request('http://api/', {
      dispatcher: s.d,
      method: 'POST',
      body: Readable.from([payload.subarray(0, 1000), payload.subarray(1000)]),
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(sha(b.lastBody as Buffer)).toBe(sha(payload));
    await expectQuiet(s, b);
    await expectCounts(s, { success: 1 }, { connect: 1 });
  });

  it('a stream body after a reset is not retried, even for PUT; Buffer and string bodies are, for idempotent methods', async () => {
    const { a, b, s } = await withBackup(reset);
    await expect(
      request('http://api/', { dispatcher: s.d, method: 'PUT', body: Readable.from([Buffer.from('stream')]) }),
    ).rejects.toThrow();
    await expect(request('http://api/', { dispatcher: s.d, method: 'POST', body: 'post' })).rejects.toThrow();
    expect(b.hits).toBe(0);
    const put = await request('http://api/', { dispatcher: s.d, method: 'PUT', body: Buffer.from('buffer body') });
    expect(put.statusCode).toBe(200);
    await put.body.text();
    expect(String(b.lastBody)).toBe('buffer body');
    const del = await request('http://api/', { dispatcher: s.d, method: 'DELETE', body: 'string body' });
    await del.body.text();
    expect(String(b.lastBody)).toBe('string body');
    await expectQuiet(s, a, b);
    await expectCounts(s, { error: 2, success: 2 }, { reset: 2 });
  });

  it('an Idempotency-Key in array form, in a Headers object, a Map or a generator makes a POST retryable', async () => {
    const { a, b, s } = await withBackup(reset);
    const forms: Array<NonNullable<Dispatcher.DispatchOptions['headers']>> = [
      ['Idempotency-Key', 'k1', 'x-n', '1'],
      new Headers({ 'Idempotency-Key': 'k2' }) as unknown as Iterable<[string, string]>,
      new Map([['idempotency-key', 'k3']]),
      (function* () {
        yield ['Idempotency-Key', 'k4'] as [string, string]; // read once: a retry must still send it
      })(),
    ];
    for (const headers of forms) {
      const res = await request('http://api/', { dispatcher: s.d, method: 'POST', body: 'keyed', headers });
      expect(res.statusCode).toBe(200);
      await res.body.text();
      expect(String(b.lastBody)).toBe('keyed');
      expect(b.lastHost).toBe('api');
      expect(b.lastKey).toMatch(/^k\d$/);
    }
    await expectQuiet(s, a, b);
    await expectCounts(s, { success: 4 }, { reset: 4 });
  });
});

describe('FailoverDispatcher: lifecycle and routing', () => {
  it('close() lets a request in flight finish, then refuses new ones cleanly', async () => {
    const a = await upstream(hang);
    const s = setup({ tiers: [[a.url]] });
    const p = request('http://api/', { dispatcher: s.d });
    await until(() => a.hits === 1);
    let closed = false;
    const closing = s.d.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    (a.held[0] as ServerResponse).end('late');
    const res = await p;
    expect(await res.body.text()).toBe('late');
    await closing;
    await expect(request('http://api/', { dispatcher: s.d })).rejects.toMatchObject({ code: 'UND_ERR_CLOSED' });
    await expect(fetch('http://api/', { dispatcher: s.d } as RequestInit)).rejects.toThrow();
    expect(a.hits).toBe(1);
    expect(await s.outcomes()).toEqual({ success: 1 });
  });

  it('close() during a Retry-After wait still lets that request retry on another host', async () => {
    const { a, b, s } = await withBackup(unavailable('2'));
    const p = request('http://api/', { dispatcher: s.d });
    await until(async () => (await s.retries()).status === 1, 'the Retry-After wait');
    const closing = s.d.close();
    await s.clock.advance(2_000);
    const res = await p;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok');
    await closing;
    expect([a.hits, b.hits]).toEqual([1, 1]);
    await expectCounts(s, { success: 1 }, { status: 1 });
  });

  it('destroy() while close() waits ends the request and lets close() resolve', async () => {
    const { a, s } = await withBackup(hang);
    const p = request('http://api/', { dispatcher: s.d }).catch((e: { code?: string }) => e.code);
    await until(() => a.hits === 1);
    const closing = s.d.close();
    await s.d.destroy();
    expect(await p).toBe('UND_ERR_DESTROYED');
    await expect(closing).resolves.toBeUndefined();
    await expectCounts(s, { error: 1 }, {});
  });

  it('destroy() ends requests in flight and in a Retry-After wait with one error each, and retries none', async () => {
    const h = await upstream(hang);
    const w = await upstream(unavailable('5'));
    const b = await upstream();
    const s = setup({ tiers: [[h.url, w.url], [b.url]], mode: 'backup', balancer: 'round-robin' });
    const inFlight = request('http://api/', { dispatcher: s.d });
    const waiting = request('http://api/', { dispatcher: s.d });
    const settled = Promise.allSettled([inFlight, waiting]);
    await until(async () => h.hits === 1 && (await s.retries()).status === 1, 'the Retry-After wait');
    await s.d.destroy();
    const [r1, r2] = await settled;
    expect(r1.status).toBe('rejected');
    expect(r2.status).toBe('rejected');
    await expectQuiet(s, h, w, b);
    expect(b.hits).toBe(0);
    await expectCounts(s, { error: 2 }, { status: 1 });
  });

  it('as the global dispatcher with origin set, other origins go to the fallback with their own host; a caller host is kept', async () => {
    const a = await upstream();
    const other = await upstream((_req, res) => res.end('other'));
    const s = setup({ tiers: [[a.url]], origin: 'http://api' });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(s.d);
    try {
      expect(await (await fetch(`${other.url}/x`)).text()).toBe('other');
      expect(other.lastHost).toBe(new URL(other.url).host);
      expect(await (await fetch('http://api/x')).text()).toBe('ok');
      expect(a.lastHost).toBe('api');
      const res = await request('http://api/y', { headers: { host: 'custom.example' } });
      await res.body.text();
      expect(a.lastHost).toBe('custom.example');
      const res2 = await request('http://api/y', { headers: ['Host', 'array.example'] });
      await res2.body.text();
      expect(a.lastHost).toBe('array.example');
    } finally {
      setGlobalDispatcher(previous);
    }
    expect(other.hits).toBe(1);
    expect(await s.outcomes()).toEqual({ success: 3 });
  });
});

describe('FailoverDispatcher: retry budget', () => {
  it('retries beyond max(3, 20 % of in flight) and 20 % of the last 10 s of requests surface; the slots come back after the burst', async () => {
    const bad = await upstream((_req, res) => res.writeHead(503).end('unavailable'));
    const b = await upstream(hang);
    const s = setup({ tiers: [[bad.url], [b.url]], mode: 'backup' });
    const burst = (n: number) =>
      Array.from({ length: n }, () =>
        request('http://api/', { dispatcher: s.d }).then(async (r) => `${r.statusCode} ${await r.body.text()}`),
      );
    // 10 in flight: 20 % is 2, so the floor of 3 retries in flight holds, plus 20 % of the 10 requests
    // of the window (2); the other 5 get the 503 itself
    const first = burst(10);
    await until(() => b.hits === 5 && bad.hits === 10, '10 answered 503, 5 retried on b');
    await new Promise((r) => setTimeout(r, 50));
    expect(b.hits).toBe(5);
    for (const r of b.held.splice(0)) r.end('ok');
    const results = await Promise.all(first);
    expect(results.filter((r) => r === '200 ok')).toHaveLength(5);
    expect(results.filter((r) => r === '503 unavailable')).toHaveLength(5);
    // 40 in flight: 8 in flight, plus the window's 20 % of 50 requests (10) less the 2 it gave
    const second = burst(40);
    await until(() => b.hits === 21 && bad.hits === 50, '40 more answered 503, 16 more retried on b');
    await new Promise((r) => setTimeout(r, 50));
    expect(b.hits).toBe(21);
    b.handle = ok;
    for (const r of b.held.splice(0)) r.end('ok');
    const results2 = await Promise.all(second);
    expect(results2.filter((r) => r === '200 ok')).toHaveLength(16);
    await expectQuiet(s, b);
    await expectCounts(s, { success: 21, server_error: 29 }, { status: 21, api: 29 });
  });

  it('an attempt whose per-try timeout passes while it waits in a busy pool is retried within the budget', async () => {
    const h = await upstream(hang);
    const b = await upstream();
    const s = setup({
      tiers: [[h.url], [b.url]],
      mode: 'backup',
      pool: { connections: 1 },
      retry: { budgetPercent: 0, minRetryConcurrency: 0 },
    });
    const first = request('http://api/1', { dispatcher: s.d });
    await until(() => h.hits === 1);
    const second = request('http://api/2', { dispatcher: s.d }); // queued behind the first
    await until(() => outstanding(s.d) === 2);
    const failures = Promise.allSettled([first, second]);
    await s.clock.advance(2_000); // both per-try timeouts: no budget for either
    const settled = await failures;
    expect(settled.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(settled.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['NINES_TIMEOUT', 'NINES_TIMEOUT']);
    expect(b.hits).toBe(0);
    expect(await s.retries()).toEqual({ api: 2 }); // both refused by the budget
  });

  it('a request that never reached its host is retried outside the budget: it adds no load', async () => {
    const dead = await deadPort();
    const b = await upstream();
    const s = setup({ tiers: [[dead], [b.url]], mode: 'backup', retry: { budgetPercent: 0, minRetryConcurrency: 0 } });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => request('http://api/', { dispatcher: s.d }).then((r) => r.body.text())),
    );
    expect(results).toEqual(Array.from({ length: 10 }, () => 'ok'));
    await expectCounts(s, { success: 10 }, { connect: 10 });
  });
});
