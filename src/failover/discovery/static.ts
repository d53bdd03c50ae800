import { InvalidOptionError } from '../../core/errors.js';
import type { DiscoveredEndpoint, Discovery } from './discovery.js';
import { endpointOf } from './endpoint.js';

/** A fixed list as a `Discovery`: validated at once (errors name the entry), reported once on start. */
export function staticDiscovery(endpoints: readonly (string | DiscoveredEndpoint)[]): Discovery {
  if (!Array.isArray(endpoints) || endpoints.length === 0)
    throw new InvalidOptionError('endpoints must be a non-empty array of origins or endpoints');
  const list = Object.freeze(endpoints.map((e, i) => Object.freeze(endpointOf(`endpoints[${i}]`, e))));
  return {
    start: async (onUpdate) => {
      onUpdate(list);
    },
    close: async () => {},
  };
}
