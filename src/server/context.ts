import type { Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import type { Monitor } from '../monitor/monitor.js';
import type { Store } from '../monitor/store/types.js';

/** What every route reads from. */
export interface ServerContext {
  monitor: Monitor;
  store: Store;
  registry: Registry;
  clock: Clock;
  shutdown: { readonly shuttingDown: boolean } | undefined;
  liveness: { maxEventLoopDelay?: number } | undefined;
}
