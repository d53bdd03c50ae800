// The only file that loads @kubernetes/client-node, and only inside start(), so `nines/failover` never needs it.
import { readFile } from 'node:fs/promises';
import type { KubeConfig, ListWatch, V1EndpointSlice, Watch } from '@kubernetes/client-node';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { InvalidOptionError, NinesError } from '../../core/errors.js';
import { checkInteger, checkString } from '../../core/validate.js';
import type { DiscoveredEndpoint, Discovery } from './discovery.js';
import { ChangeFilter } from './endpoint.js';
import { endpointsOfSlices, type SliceMapping } from './kubernetes-slices.js';

/** Options of {@link kubernetesDiscovery}. */
export interface KubernetesDiscoveryOptions {
  /** Name of the Service whose EndpointSlices are watched (label `kubernetes.io/service-name`). */
  service: string;
  /** Namespace of the Service; default the pod's own (from its service account), else `default`. */
  namespace?: string;
  /** Port name or number in the slices; default the slice's only TCP port (an error when it has several). */
  port?: string | number;
  /** Scheme of the origins; default `https` for a port named or with appProtocol `https`, else `http`. */
  protocol?: 'http' | 'https';
  /** Cluster and credentials; default `loadFromDefault()` (in-cluster service account, or `$KUBECONFIG`). */
  kubeConfig?: KubeConfig;
  /** Time source of the restart back-off after a failed watch; default the system clock. */
  clock?: Clock;
}

type K8s = typeof import('@kubernetes/client-node');

const NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** Back-off between restarts after a watch or relist failed: client-go's reflector uses 800 ms to 30 s. */
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;

/**
 * Endpoints of a Kubernetes Service from its EndpointSlices, listed then watched (relisting on
 * 410 Gone); ready endpoints are in rotation, serving and terminating ones draining.
 */
export function kubernetesDiscovery(options: KubernetesDiscoveryOptions): Discovery {
  checkString('service', options?.service);
  if (options.namespace !== undefined) checkString('namespace', options.namespace);
  if (typeof options.port === 'number') checkInteger('port', options.port, 1, 65_535);
  else if (options.port !== undefined) checkString('port', options.port);
  if (options.protocol !== undefined && options.protocol !== 'http' && options.protocol !== 'https')
    throw new InvalidOptionError(`protocol must be 'http' or 'https', got ${String(options.protocol)}`);
  return new KubernetesDiscovery(options);
}

class KubernetesDiscovery implements Discovery {
  readonly #options: KubernetesDiscoveryOptions;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  #informer: ListWatch<V1EndpointSlice> | undefined;
  #restart: TimerHandle | undefined;
  #backoffMs = RESTART_MIN_MS;
  #listing = false;
  #started = false;
  #closed = false;
  #first: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  #changes = new ChangeFilter(() => {});
  #onError: ((error: unknown) => void) | undefined;
  #namespace = '';

  constructor(options: KubernetesDiscoveryOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  async start(onUpdate: (endpoints: readonly DiscoveredEndpoint[]) => void, onError?: (error: unknown) => void): Promise<void> {
    if (this.#started) throw new InvalidOptionError('kubernetesDiscovery: start() was already called');
    this.#started = true;
    this.#changes = new ChangeFilter(onUpdate);
    this.#onError = onError;
    const k8s = await loadClient();
    const kc = this.#options.kubeConfig ?? defaultKubeConfig(k8s);
    this.#namespace = this.#options.namespace ?? (await podNamespace());
    if (this.#closed) return;
    const api = kc.makeApiClient(k8s.DiscoveryV1Api);
    const labelSelector = `kubernetes.io/service-name=${this.#options.service}`;
    const signal = this.#abort.signal;
    const withSignal = {
      middleware: [
        {
          pre: (ctx: import('@kubernetes/client-node').RequestContext) => {
            ctx.setSignal(signal); // close() aborts a list in flight
            return new k8s.Observable(Promise.resolve(ctx));
          },
          post: (res: import('@kubernetes/client-node').ResponseContext) => new k8s.Observable(Promise.resolve(res)),
        },
      ],
      middlewareMergeStrategy: 'append' as const,
    };
    const list = async () => {
      this.#listing = true; // the informer replays a relist as single adds and deletes: publish once, after it
      try {
        return await api.listNamespacedEndpointSlice({ namespace: this.#namespace, labelSelector }, withSignal);
      } catch (error) {
        this.#listing = false;
        throw error;
      }
    };
    const path = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(this.#namespace)}/endpointslices`;
    const informer = new k8s.ListWatch<V1EndpointSlice>(path, this.#watcher(new k8s.Watch(kc)), list, false, labelSelector, undefined, {
      delayFn: (ms) => this.#delay(ms),
    });
    this.#informer = informer;
    const changed = () => {
      if (!this.#listing) this.#publish();
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', changed);
    // The informer stops itself on any error but 410 Gone and a watch timeout: restart it here.
    informer.on('error', (error: unknown) => this.#failed(error));
    const first = new Promise<void>((resolve, reject) => {
      this.#first = { resolve, reject };
    });
    informer.start().catch((error: unknown) => this.#failed(error));
    await first;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#restart?.clear();
    this.#abort.abort();
    await this.#informer?.stop();
    this.#first?.reject(new NinesError('NINES_DISCOVERY_FAILED', 'kubernetesDiscovery was closed before its first list'));
  }

  /** The library's Watch, wrapped so a watch still connecting at close() is ended once it connects. */
  #watcher(watch: Watch): Watch {
    const wrapper = {
      watch: async (...args: Parameters<Watch['watch']>): Promise<AbortController> => {
        this.#flushList();
        if (this.#closed) return aborted();
        const c = await watch.watch(...args);
        if (this.#closed) c.abort(); // close() came while it connected: the informer's stop() missed it
        return c;
      },
    };
    return wrapper as unknown as Watch;
  }

  /** The informer's reconnect delay, on the injectable clock; after close() it never ends (so nothing reconnects). */
  #delay(ms: number): Promise<void> {
    this.#flushList();
    return new Promise((resolve) => {
      if (this.#closed) return;
      const t = this.#clock.setTimeout(() => {
        this.#restart = undefined;
        resolve();
      }, ms);
      t.unref();
      this.#restart = t;
    });
  }

  /** After a list the informer waits or watches: its cache then holds the whole list. */
  #flushList(): void {
    if (!this.#listing) return;
    this.#listing = false;
    this.#backoffMs = RESTART_MIN_MS;
    this.#publish();
  }

  #publish(): void {
    if (this.#closed || this.#informer === undefined) return;
    let endpoints: DiscoveredEndpoint[];
    try {
      endpoints = endpointsOfSlices(this.#informer.list(this.#namespace), this.#options as SliceMapping);
    } catch (error) {
      this.#report(error);
      return;
    }
    this.#backoffMs = RESTART_MIN_MS;
    const first = this.#first;
    this.#changes.update(endpoints); // the first list always passes: nothing came before it
    if (first !== undefined) {
      this.#first = undefined;
      first.resolve();
    }
  }

  #failed(error: unknown): void {
    if (this.#closed) return;
    this.#listing = false;
    const wrapped = describe(error, this.#options.service, this.#namespace);
    if (this.#first !== undefined) {
      this.#report(wrapped);
      return; // start() rejects; the caller decides whether to try again
    }
    this.#report(wrapped);
    this.#restart?.clear();
    const ms = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, RESTART_MAX_MS);
    const t = this.#clock.setTimeout(() => {
      this.#restart = undefined;
      if (!this.#closed) this.#informer?.start().catch((e: unknown) => this.#failed(e));
    }, ms);
    t.unref();
    this.#restart = t;
  }

  /** Before the first list an error rejects start(); after it, the last list stays and onError hears of it. */
  #report(error: unknown): void {
    const first = this.#first;
    if (first !== undefined) {
      this.#first = undefined;
      first.reject(error);
    } else this.#onError?.(error);
  }
}

async function loadClient(): Promise<K8s> {
  try {
    return await import('@kubernetes/client-node');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      throw new InvalidOptionError(
        'kubernetesDiscovery needs @kubernetes/client-node: install @kubernetes/client-node to use kubernetesDiscovery',
      );
    throw error;
  }
}

function defaultKubeConfig(k8s: K8s): KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  return kc;
}

async function podNamespace(): Promise<string> {
  try {
    const ns = (await readFile(NAMESPACE_FILE, 'utf8')).trim();
    return ns === '' ? 'default' : ns;
  } catch {
    return 'default'; // not in a pod: kubectl's default namespace
  }
}

function aborted(): AbortController {
  const c = new AbortController();
  c.abort();
  return c;
}

/** The API's answer as a NinesError; a 403 names the RBAC rule the pod's service account lacks. */
function describe(error: unknown, service: string, namespace: string): unknown {
  if (error instanceof NinesError || error instanceof InvalidOptionError) return error;
  const e = error as { code?: unknown; statusCode?: unknown; message?: string };
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const what = `EndpointSlices of service ${service} in namespace ${namespace}`;
  if (status === 403 || status === 401) {
    return new NinesError(
      'NINES_DISCOVERY_FAILED',
      `kubernetesDiscovery: ${status === 403 ? 'forbidden' : 'unauthorized'} to list and watch ${what}: ` +
        `the service account needs get, list and watch on endpointslices.discovery.k8s.io in namespace ${namespace} (a Role and RoleBinding)`,
      { cause: error },
    );
  }
  const detail = status === undefined ? (e.message ?? String(error)).split('\n')[0] : `HTTP ${status}`;
  return new NinesError('NINES_DISCOVERY_FAILED', `kubernetesDiscovery: listing or watching ${what} failed: ${detail}`, { cause: error });
}
