import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { isNinesError } from '../../src/core/errors.js';
import { endpointsOfSlices } from '../../src/failover/discovery/kubernetes-slices.js';
import { type DiscoveredEndpoint, FailoverDispatcher, kubernetesDiscovery } from '../../src/failover/index.js';
import { listen } from '../support/http.js';
import { type Slice, startKubeApi } from '../support/kube-api.js';

const NS = 'shop';
const SERVICE = 'api';
/** Hang guard only: every wait is on an event, none on time. */
const GUARD_MS = 20_000;

/** Reconnect and restart delays run at the next turn of the event loop, so no test waits on time. */
const instantClock: Clock = {
  now: Date.now,
  setTimeout(fn) {
    const t = setImmediate(fn);
    return { clear: () => clearImmediate(t), unref: () => t.unref(), ref: () => t.ref() };
  },
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function ep(address: string, conditions: { ready?: boolean; serving?: boolean; terminating?: boolean } = { ready: true }, zone?: string) {
  return { addresses: [address], conditions, ...(zone === undefined ? {} : { zone }) };
}

/** Every list onUpdate was called with, and a way to wait for the next one. */
function recorder() {
  const lists: Array<readonly DiscoveredEndpoint[]> = [];
  const errors: unknown[] = [];
  let waiter: (() => void) | undefined;
  return {
    lists,
    errors,
    onUpdate: (l: readonly DiscoveredEndpoint[]) => {
      lists.push(l);
      waiter?.();
    },
    onError: (e: unknown) => {
      errors.push(e);
      waiter?.();
    },
    /** Resolves once `n` lists have arrived. */
    async until(n: number): Promise<readonly DiscoveredEndpoint[]> {
      while (lists.length < n) await new Promise<void>((r) => (waiter = r));
      return lists[n - 1] as readonly DiscoveredEndpoint[];
    },
    /** Resolves with the first error whose message matches. */
    async untilError(match: RegExp): Promise<Error> {
      for (;;) {
        const e = errors.find((x) => match.test((x as Error).message));
        if (e !== undefined) return e as Error;
        await new Promise<void>((r) => (waiter = r));
      }
    },
  };
}

async function setUp(initial: Slice[]) {
  const api = await startKubeApi(NS, SERVICE);
  cleanups.push(() => api.close());
  for (const s of initial) api.put(s);
  const discovery = kubernetesDiscovery({ service: SERVICE, namespace: NS, kubeConfig: api.kubeConfig, clock: instantClock });
  cleanups.push(() => discovery.close());
  const rec = recorder();
  return { api, discovery, rec };
}

const a = { name: 'api-a', endpoints: [ep('10.0.0.1', { ready: true }, 'zone-a'), ep('10.0.0.2')] };

describe('kubernetesDiscovery against a loopback API server', { timeout: GUARD_MS }, () => {
  it('resolves start() with the first list, from slices with the service label', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    expect(rec.lists).toEqual([[{ origin: 'http://10.0.0.1:8080', zone: 'zone-a' }, { origin: 'http://10.0.0.2:8080' }]]);
    expect(api.requests[0]).toEqual({ kind: 'list', resourceVersion: undefined, labelSelector: 'kubernetes.io/service-name=api' });
  });

  it('follows a MODIFIED slice: not ready is removed, serving and terminating is draining', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    await api.watching();
    api.put({
      name: 'api-a',
      endpoints: [ep('10.0.0.1', { ready: false, serving: false }), ep('10.0.0.2', { ready: false, serving: true, terminating: true })],
    });
    expect(await rec.until(2)).toEqual([{ origin: 'http://10.0.0.2:8080', draining: true }]);
  });

  it('merges a second slice of the service, and drops a DELETED one', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    await api.watching();
    api.put({ name: 'api-b', addressType: 'IPv6', endpoints: [ep('fd00::3')] });
    expect((await rec.until(2)).map((e) => e.origin)).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://[fd00::3]:8080']);
    api.remove('api-a');
    expect(await rec.until(3)).toEqual([{ origin: 'http://[fd00::3]:8080' }]);
  });

  it('calls onUpdate only when the merged list changed', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    await api.watching();
    api.put({ ...a }); // a new resourceVersion, the same endpoints
    api.put({ name: 'api-b', endpoints: [ep('10.0.0.9')] });
    await rec.until(2);
    expect(rec.lists).toHaveLength(2);
    expect(rec.lists[1]?.map((e) => e.origin)).toContain('http://10.0.0.9:8080');
  });

  it('relists after 410 Gone, and the list is what the API holds (a change it missed included)', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    await api.watching();
    api.put({ name: 'api-b', endpoints: [ep('10.0.0.3')] }, true); // events the client never saw
    api.remove('api-a', true);
    api.expire();
    // One update, after the relist: not one per slice the informer replays as added or deleted.
    expect(await rec.until(2)).toEqual([{ origin: 'http://10.0.0.3:8080' }]);
    expect(api.requests.filter((r) => r.kind === 'list')).toHaveLength(2);
    expect(rec.errors).toEqual([]);
    await api.watching();
    api.put({ name: 'api-c', endpoints: [ep('10.0.0.7')] });
    expect((await rec.until(3)).map((e) => e.origin)).toEqual(['http://10.0.0.3:8080', 'http://10.0.0.7:8080']);
  });

  it('keeps the list while a dropped watch reconnects, resuming from its resourceVersion', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    await api.watching();
    const watchesBefore = api.requests.filter((r) => r.kind === 'watch').length;
    api.drop();
    api.put({ name: 'api-a', endpoints: [ep('10.0.0.1')] }); // while no watch is open: replayed on resume
    expect(await rec.until(2)).toEqual([{ origin: 'http://10.0.0.1:8080' }]);
    const watches = api.requests.filter((r) => r.kind === 'watch');
    expect(watches.length).toBeGreaterThan(watchesBefore);
    expect(watches.at(-1)?.resourceVersion).not.toBe('');
    expect(api.requests.filter((r) => r.kind === 'list')).toHaveLength(1); // no relist needed
  });

  it('rejects start() on 403 with the RBAC the service account needs', async () => {
    const { api, discovery, rec } = await setUp([a]);
    api.deny = 403;
    const error = await discovery.start(rec.onUpdate, rec.onError).catch((e: unknown) => e);
    expect(isNinesError(error, 'NINES_DISCOVERY_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/get, list and watch on endpointslices\.discovery\.k8s\.io in namespace shop/);
    expect(rec.lists).toEqual([]);
    expect(rec.errors).toEqual([]); // the rejection is the report: onError is for errors after the first list
  });

  it('reports a watch that fails after the first list to onError, keeps the list and restarts', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    await api.watching();
    api.deny = 403;
    api.drop(); // the dropped watch is an error too; its restart is refused
    const error = await rec.untilError(/forbidden/);
    expect(isNinesError(error, 'NINES_DISCOVERY_FAILED')).toBe(true);
    expect(error.message).toMatch(/get, list and watch on endpointslices\.discovery\.k8s\.io/);
    expect(rec.lists).toHaveLength(1);
    api.deny = undefined;
    await api.watching();
    api.put({ name: 'api-a', endpoints: [ep('10.0.0.5')] });
    expect(await rec.until(2)).toEqual([{ origin: 'http://10.0.0.5:8080' }]);
  });

  it('close() ends the watch and leaves no connection open', async () => {
    const { api, discovery, rec } = await setUp([a]);
    await discovery.start(rec.onUpdate, rec.onError);
    await api.watching();
    await discovery.close();
    await api.idle();
    const seen = api.requests.length;
    api.put({ name: 'api-a', endpoints: [ep('10.0.0.6')] });
    await new Promise((r) => setImmediate(r));
    expect(api.connections()).toBe(0);
    expect(api.requests.length).toBe(seen);
    expect(rec.lists).toHaveLength(1);
  });

  it('validates its options', () => {
    expect(() => kubernetesDiscovery({ service: '' })).toThrow(/service must be a non-empty string/);
    expect(() => kubernetesDiscovery({ service: 'a', port: 0 })).toThrow(/port must be a number between 1 and 65535/);
    expect(() => kubernetesDiscovery({ service: 'a', protocol: 'ftp' as 'http' })).toThrow(/protocol must be/);
  });
});

describe('without @kubernetes/client-node', { timeout: GUARD_MS }, () => {
  it('nines/failover loads, and start() says to install the package', async () => {
    const child = fileURLToPath(new URL('../support/without-kube-client.ts', import.meta.url));
    const index = fileURLToPath(new URL('../../src/failover/index.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, index]);
    expect(JSON.parse(stdout)).toEqual({
      dispatcher: 'function',
      code: 'NINES_INVALID_OPTION',
      message: 'kubernetesDiscovery needs @kubernetes/client-node: install @kubernetes/client-node to use kubernetesDiscovery',
    });
  });
});

describe('endpointsOfSlices', () => {
  const mapping = { service: 'api' };
  it('picks the named port, and https from its name', () => {
    const slice = {
      ports: [
        { name: 'metrics', port: 9090 },
        { name: 'https', port: 8443 },
      ],
      endpoints: [ep('10.0.0.1')],
    };
    expect(endpointsOfSlices([slice], { ...mapping, port: 'https' })).toEqual([{ origin: 'https://10.0.0.1:8443' }]);
    expect(endpointsOfSlices([slice], { ...mapping, port: 9090, protocol: 'http' })).toEqual([{ origin: 'http://10.0.0.1:9090' }]);
    expect(() => endpointsOfSlices([slice], mapping)).toThrow(/port must be set: .* several ports \(metrics, https\)/);
  });
  it('reads nil conditions as ready, keeps the in-rotation copy of an endpoint in two slices', () => {
    const s1 = {
      ports: [{ port: 80 }],
      endpoints: [{ addresses: ['10.0.0.1'] }, ep('10.0.0.2', { ready: false, serving: true, terminating: true })],
    };
    const s2 = { ports: [{ port: 80 }], endpoints: [ep('10.0.0.2')] };
    expect(endpointsOfSlices([s1, s2], mapping)).toEqual([{ origin: 'http://10.0.0.1:80' }, { origin: 'http://10.0.0.2:80' }]);
  });
});

describe('FailoverDispatcher with a Kubernetes-discovered tier', { timeout: GUARD_MS }, () => {
  it('serves from the discovered endpoint, and moves traffic off one marked terminating', async () => {
    const hits = { one: 0, two: 0 };
    const serve = (name: 'one' | 'two') => (_req: IncomingMessage, res: ServerResponse) => {
      hits[name]++;
      res.end(name);
    };
    const one = await listen(serve('one'));
    const two = await listen(serve('two'));
    cleanups.push(one.close, two.close);
    const api = await startKubeApi(NS, SERVICE);
    cleanups.push(() => api.close());
    const slice = (oneTerminating: boolean): Slice => ({
      name: 'api-a',
      ports: [{ name: 'http', port: one.port }],
      endpoints: [ep('127.0.0.1', oneTerminating ? { ready: false, serving: true, terminating: true } : { ready: true })],
    });
    // Two slices, each with its own port, as two pods on one loopback address.
    api.put(slice(false));
    api.put({ name: 'api-b', ports: [{ name: 'http', port: two.port }], endpoints: [] });
    const rec = recorder();
    const discovery = kubernetesDiscovery({ service: SERVICE, namespace: NS, kubeConfig: api.kubeConfig, clock: instantClock });
    const watched = {
      start: (onUpdate: (l: readonly DiscoveredEndpoint[]) => void) =>
        discovery.start((l) => {
          onUpdate(l);
          rec.onUpdate(l);
        }),
      close: () => discovery.close(),
    };
    const dispatcher = new FailoverDispatcher({ tiers: [{ discovery: watched }], origin: 'http://api', outlier: false });
    cleanups.push(() => dispatcher.close());
    await dispatcher.ready();
    const get = async () => (await request('http://api/', { dispatcher })).body.text();
    expect(await get()).toBe('one');
    await api.watching();
    api.put({ name: 'api-b', ports: [{ name: 'http', port: two.port }], endpoints: [ep('127.0.0.1')] });
    api.put(slice(true));
    await rec.until(3);
    expect(dispatcher.endpoints().map((e) => [e.origin, e.up])).toEqual([
      [`http://127.0.0.1:${one.port}`, false],
      [`http://127.0.0.1:${two.port}`, true],
    ]);
    const before = hits.one;
    for (let i = 0; i < 10; i++) expect(await get()).toBe('two');
    expect(hits.one).toBe(before);
  });
});
