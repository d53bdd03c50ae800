import { lookup } from 'node:dns/promises';
import { abortable } from '../../core/abort.js';
import { readable } from '../../core/redact.js';
import { checkString } from '../../core/validate.js';
import type { HealthCheck } from '../types.js';
import { since } from './util.js';

/** Passes when `hostname` resolves (through the OS resolver, /etc/hosts included). Details: `addresses`, `ms`. */
export function dns(hostname: string): HealthCheck {
  checkString('hostname', hostname);
  return async ({ signal }) => {
    const start = performance.now();
    try {
      // getaddrinfo cannot be cancelled: an abort stops the wait; the lookup ends on its own in the thread pool
      const found = await abortable(lookup(hostname, { all: true }), signal);
      return { details: { addresses: found.map((a) => a.address), ms: since(start) } };
    } catch (error) {
      throw readable(error);
    }
  };
}
