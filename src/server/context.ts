import type { Registry } from 'prom-client';
import type { Monitor } from '../monitor/monitor.js';
import type { Store } from '../monitor/store/types.js';
import type { Clock } from '../policy/clock.js';

/** What every route reads from. */
export interface ServerContext {
  monitor: Monitor;
  store: Store;
  registry: Registry;
  clock: Clock;
  shutdown: { readonly shuttingDown: boolean } | undefined;
  liveness: { maxEventLoopDelay?: number } | undefined;
}
