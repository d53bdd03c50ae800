// EndpointSlices to endpoints: pure, and typed structurally, so it needs no @kubernetes/client-node.
import { InvalidOptionError } from '../../core/errors.js';
import type { DiscoveredEndpoint } from './discovery.js';
import { originFor } from './endpoint.js';

/** The fields of a `discovery.k8s.io/v1` EndpointSlice that discovery reads. */
export interface SliceLike {
  metadata?: { name?: string };
  addressType?: string;
  ports?: Array<{ name?: string; port?: number; protocol?: string; appProtocol?: string }> | null;
  endpoints?: Array<{
    addresses?: string[];
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
    zone?: string;
  }> | null;
}

/** How slices become origins: which port, which scheme. */
export interface SliceMapping {
  service: string;
  port?: string | number;
  protocol?: 'http' | 'https';
}

/**
 * Merges every slice of a service into one sorted list. Conditions as kube-proxy reads them: a nil
 * `ready` counts as ready, a nil `serving` defers to `ready`; `serving && terminating` is draining
 * (it finishes its requests and gets new ones only when nothing else can); not serving is left out.
 */
export function endpointsOfSlices(slices: readonly SliceLike[], mapping: SliceMapping): DiscoveredEndpoint[] {
  const byOrigin = new Map<string, DiscoveredEndpoint>();
  for (const slice of slices) {
    const port = portOf(slice, mapping);
    if (port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const c = ep.conditions ?? {};
      const ready = c.ready !== false;
      const serving = c.serving ?? ready;
      if (!serving) continue;
      const draining = c.terminating === true;
      for (const address of ep.addresses ?? []) {
        const origin = originFor(port.scheme, address, port.number);
        const prior = byOrigin.get(origin);
        // A pod moving between slices can show up in both for a moment: the one in rotation wins.
        if (prior !== undefined && prior.draining !== true) continue;
        const e: DiscoveredEndpoint = { origin };
        if (draining) e.draining = true;
        if (ep.zone !== undefined && ep.zone !== null) e.zone = ep.zone;
        byOrigin.set(origin, e);
      }
    }
  }
  return [...byOrigin.values()].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
}

function portOf(slice: SliceLike, mapping: SliceMapping): { number: number; scheme: 'http' | 'https' } | undefined {
  const ports = (slice.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.port === 'number');
  let port: (typeof ports)[number] | undefined;
  if (mapping.port === undefined) {
    if (ports.length > 1) {
      const names = ports.map((p) => p.name || String(p.port)).join(', ');
      throw new InvalidOptionError(
        `port must be set: EndpointSlice ${slice.metadata?.name ?? '?'} of service ${mapping.service} has several ports (${names})`,
      );
    }
    port = ports[0];
  } else {
    port = ports.find((p) => (typeof mapping.port === 'number' ? p.port === mapping.port : p.name === mapping.port));
  }
  if (port === undefined) return undefined; // a slice without that port (or none) has nothing to route to
  const scheme = mapping.protocol ?? (port.appProtocol === 'https' || port.name === 'https' ? 'https' : 'http');
  return { number: port.port as number, scheme };
}
