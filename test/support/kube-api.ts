// The part of the Kubernetes API that EndpointSlice discovery uses, on loopback: list and watch of
// discovery.k8s.io/v1 EndpointSlices in one namespace, so the real @kubernetes/client-node talks to it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { listen } from './http.js';

/** An EndpointSlice as the API serves it (only the fields discovery reads). */
export interface Slice {
  name: string;
  ports?: Array<{ name?: string; port: number; protocol?: string; appProtocol?: string }>;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Array<{
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    zone?: string;
  }>;
}

/** A fake API server; every change bumps the resourceVersion and goes to each open watch. */
export interface KubeApi {
  url: string;
  /** A KubeConfig of the real client pointed at this server, with a bearer token. */
  kubeConfig: KubeConfig;
  /** Requests seen: `list` or `watch`, with the resourceVersion a watch asked for. */
  requests: Array<{ kind: 'list' | 'watch'; resourceVersion?: string; labelSelector?: string }>;
  /** Status to answer lists and watches with instead (403 for a missing Role); undefined serves them. */
  deny: number | undefined;
  /** Resolves when the number of open watches reaches `n`. */
  watching(n?: number): Promise<void>;
  /** Adds or replaces a slice (ADDED or MODIFIED to the watches); `silent` changes it with no event, as if the event was lost. */
  put(slice: Slice, silent?: boolean): void;
  /** Removes a slice (DELETED); `silent` as for put. */
  remove(name: string, silent?: boolean): void;
  /** Sends an ERROR event 410 Gone and ends every watch, as the API does when a resourceVersion is too old. */
  expire(): void;
  /** Destroys every watch connection without a word (a dropped connection). */
  drop(): void;
  /** Open connections (lists and watches). */
  connections(): number;
  /** Resolves when no connection is open. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a fake API for `namespace` serving the slices of `service`. */
export async function startKubeApi(namespace: string, service: string): Promise<KubeApi> {
  const slices = new Map<string, Slice>();
  let version = 100;
  const watches = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  const waiters: Array<() => void> = [];
  const label = `kubernetes.io/service-name=${service}`;
  const base = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
  const objectOf = (s: Slice, rv: number) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: s.name, namespace, resourceVersion: String(rv), labels: { 'kubernetes.io/service-name': service } },
    addressType: s.addressType ?? 'IPv4',
    ports: s.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: s.endpoints,
  });
  const versions = new Map<string, number>();
  const settle = () => {
    for (const w of waiters.splice(0)) w();
  };
  // Events since a resourceVersion, replayed to a watch that resumes from it (as the API's watch cache does).
  const history: Array<{ rv: number; line: string }> = [];
  let oldest = 0;
  const send = (type: string, object: unknown) => {
    const line = `${JSON.stringify({ type, object })}\n`;
    history.push({ rv: version, line });
    for (const w of watches) w.write(line);
  };
  const gone = () =>
    `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } })}\n`;

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== base || req.headers.authorization !== 'Bearer test-token') {
      res.writeHead(url.pathname === base ? 401 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: url.pathname === base ? 401 : 404 }));
      return;
    }
    const watch = url.searchParams.get('watch') === 'true';
    const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
    api.requests.push({
      kind: watch ? 'watch' : 'list',
      resourceVersion: url.searchParams.get('resourceVersion') ?? undefined,
      labelSelector,
    });
    if (api.deny !== undefined) {
      const message = `endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:${namespace}:default" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "${namespace}"`;
      res.writeHead(api.deny, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason: 'Forbidden', code: api.deny }));
      return;
    }
    const items = labelSelector === label ? [...slices.values()].map((s) => objectOf(s, versions.get(s.name) ?? version)) : [];
    if (!watch) {
      // connection: close, so a finished list leaves no idle keep-alive socket to count
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end(
        JSON.stringify({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSliceList',
          metadata: { resourceVersion: String(version) },
          items,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (from < oldest) {
      res.end(gone());
      return;
    }
    for (const e of history) if (e.rv > from) res.write(e.line);
    watches.add(res);
    res.on('close', () => {
      watches.delete(res);
      settle();
    });
    settle();
  };
  const s = await listen(handler);
  s.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      settle();
    });
  });
  const until = (ok: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (ok()) resolve();
        else waiters.push(check);
      };
      check();
    });

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'test', server: s.url, skipTLSVerify: true }],
    users: [{ name: 'test', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace }],
    currentContext: 'test',
  });

  const api: KubeApi = {
    url: s.url,
    kubeConfig,
    requests: [],
    deny: undefined,
    watching: (n = 1) => until(() => watches.size >= n),
    put(slice, silent = false) {
      const type = slices.has(slice.name) ? 'MODIFIED' : 'ADDED';
      slices.set(slice.name, slice);
      versions.set(slice.name, ++version);
      if (!silent) send(type, objectOf(slice, version));
    },
    remove(name, silent = false) {
      const slice = slices.get(name);
      if (slice === undefined) return;
      slices.delete(name);
      versions.delete(name);
      ++version;
      if (!silent) send('DELETED', objectOf(slice, version));
    },
    expire() {
      oldest = ++version; // every resourceVersion handed out so far is now too old
      history.length = 0;
      for (const w of watches) w.end(gone());
    },
    drop() {
      for (const w of watches) w.socket?.destroy();
    },
    connections: () => sockets.size,
    idle: () => until(() => sockets.size === 0),
    close: s.close,
  };
  return api;
}
