// A loopback stand-in for Consul's health API (no consul binary in Debian): GET /v1/health/service/<name>
// with blocking-query semantics as Consul documents them: with ?index=N (N > 0) the request is held while
// the service's index is still N, until it changes or ?wait= elapses (default 5 min); every answer carries
// X-Consul-Index; ?passing=true keeps instances whose checks all pass; ?tag= and ?dc= filter.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen } from './http.js';

/** One instance as the fake keeps it; `status` stands for its checks. */
export interface ConsulInstance {
  address?: string;
  nodeAddress: string;
  port: number;
  weight?: number;
  tags?: string[];
  meta?: Record<string, string>;
  status?: 'passing' | 'warning' | 'critical';
}

/** The fake Consul and what it has seen. */
export interface FakeConsul {
  url: string;
  /** X-Consul-Index now; set it lower to model a snapshot restore (the index goes backwards). */
  index: number;
  /** Answers with this status instead of 200 while set. */
  failWith: number | undefined;
  /** Every request: its query and its X-Consul-Token header. */
  requests: { query: URLSearchParams; token: string | undefined }[];
  /** Requests held now (blocking queries waiting for a change). */
  readonly held: number;
  /** Moves the index back to `index` (a snapshot restore) and answers every held query, as an elapsed wait would. */
  restore(index: number): void;
  /** Replaces the instances of `service`, raises the index and wakes held queries. */
  set(service: string, instances: ConsulInstance[]): void;
  /** Resolves once the `n`-th request (1-based) has arrived. */
  request(n: number): Promise<void>;
  close(): Promise<void>;
}

function waitMs(value: string | null): number {
  const m = /^(\d+)(ms|s|m)$/.exec(value ?? '');
  if (m === null) return 5 * 60_000;
  const n = Number(m[1]);
  return Math.min(10 * 60_000, m[2] === 'ms' ? n : m[2] === 's' ? n * 1_000 : n * 60_000);
}

/** Starts the fake on a free loopback port. */
export async function startFakeConsul(): Promise<FakeConsul> {
  const services = new Map<string, ConsulInstance[]>();
  const held = new Map<() => void, number>(); // wake → the index it waits to pass
  const arrivals: { n: number; resolve: () => void }[] = [];
  const fake: FakeConsul = {
    url: '',
    index: 1,
    failWith: undefined,
    requests: [],
    get held() {
      return held.size;
    },
    set(service, instances) {
      services.set(service, instances);
      fake.index++;
      for (const [wake, index] of [...held]) if (fake.index > index) wake();
    },
    restore(index) {
      fake.index = index;
      for (const wake of [...held.keys()]) wake();
    },
    request: (n) => (fake.requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => arrivals.push({ n, resolve }))),
    close: async () => {
      for (const wake of [...held.keys()]) wake();
      await s.close();
    },
  };
  const answer = (url: URL, res: ServerResponse) => {
    if (res.destroyed) return;
    const name = decodeURIComponent(url.pathname.slice('/v1/health/service/'.length));
    if (fake.failWith !== undefined) {
      res.writeHead(fake.failWith, { 'content-type': 'text/plain' }).end('rpc error');
      return;
    }
    const q = url.searchParams;
    const list = (services.get(name) ?? []).filter(
      (i) =>
        (q.get('passing') !== 'true' || (i.status ?? 'passing') === 'passing') &&
        (!q.has('tag') || (i.tags ?? []).includes(q.get('tag') as string)),
    );
    const body = list.map((i) => ({
      Node: { Node: `node-${i.nodeAddress}`, Address: i.nodeAddress, Datacenter: q.get('dc') ?? 'dc1', Meta: {} },
      Service: {
        Service: name,
        Address: i.address ?? '',
        Port: i.port,
        Tags: i.tags ?? [],
        Meta: i.meta ?? {},
        Weights: { Passing: i.weight ?? 1, Warning: 1 },
      },
      Checks: [{ Status: i.status ?? 'passing' }],
    }));
    res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': String(fake.index) }).end(JSON.stringify(body));
  };
  const s = await listen((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://consul');
    const token = req.headers['x-consul-token'];
    fake.requests.push({ query: url.searchParams, token: typeof token === 'string' ? token : undefined });
    for (const a of arrivals.splice(0))
      if (fake.requests.length >= a.n) a.resolve();
      else arrivals.push(a);
    if (!url.pathname.startsWith('/v1/health/service/')) {
      res.writeHead(404).end();
      return;
    }
    const index = Number(url.searchParams.get('index') ?? 0);
    if (!(index > 0) || fake.index > index || fake.failWith !== undefined) {
      answer(url, res);
      return;
    }
    // blocking query: hold until the index passes the client's or the wait elapses (real time: this is the server side)
    const wake = () => {
      held.delete(wake);
      clearTimeout(timer);
      answer(url, res);
    };
    const timer = setTimeout(wake, waitMs(url.searchParams.get('wait')));
    held.set(wake, index);
    res.on('close', () => {
      held.delete(wake);
      clearTimeout(timer);
    });
  });
  fake.url = s.url;
  return fake;
}
