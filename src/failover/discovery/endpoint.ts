import { InvalidOptionError } from '../../core/errors.js';
import { checkNumber } from '../../core/validate.js';
import type { DiscoveredEndpoint } from './discovery.js';

/** Validates an http(s) origin, naming the option in the error; returns it normalised (`URL.origin`). */
export function originOf(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidOptionError(`${name} must be an http(s) origin like http://10.0.0.1:8080, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidOptionError(`${name} must use http or https, got ${url.protocol}`);
  return url.origin;
}

/** Validates one endpoint (an origin or a `DiscoveredEndpoint`), naming the entry in the error. */
export function endpointOf(name: string, value: string | DiscoveredEndpoint): DiscoveredEndpoint {
  if (typeof value === 'string') return { origin: originOf(name, value) };
  if (typeof value !== 'object' || value === null)
    throw new InvalidOptionError(`${name} must be an origin string or an endpoint object, got ${String(value)}`);
  if (value.weight !== undefined) checkNumber(`${name}.weight`, value.weight, Number.MIN_VALUE);
  return { ...value, origin: originOf(`${name}.origin`, value.origin) };
}

/** `http://10.0.0.1:8080`, `http://[::1]:8080`. */
export function originFor(protocol: 'http' | 'https', host: string, port: number): string {
  return `${protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Calls `onUpdate` only when the list, sorted by origin, differs from the last one it was given. */
export class ChangeFilter {
  #last: string | undefined;
  readonly #onUpdate: (endpoints: readonly DiscoveredEndpoint[]) => void;

  constructor(onUpdate: (endpoints: readonly DiscoveredEndpoint[]) => void) {
    this.#onUpdate = onUpdate;
  }

  /** Sorts `list`, and passes it on when it changed; true when it did. */
  update(list: readonly DiscoveredEndpoint[]): boolean {
    const sorted = [...list].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
    const key = JSON.stringify(sorted.map((e) => [e.origin, e.weight ?? 1, e.draining === true, e.zone ?? null]));
    if (key === this.#last) return false;
    this.#last = key;
    this.#onUpdate(sorted);
    return true;
  }
}
