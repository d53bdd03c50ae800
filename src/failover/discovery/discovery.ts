/** One endpoint as a discovery source reports it. */
export interface DiscoveredEndpoint {
  /** `http://10.0.0.1:8080`. */
  origin: string;
  /** Relative weight, > 0; default 1. */
  weight?: number;
  /** Terminating: may finish its requests, takes new ones only when no other host can. */
  draining?: boolean;
  /** Zone or location, when the source knows it. */
  zone?: string;
}

/** A source of endpoints: a static list, DNS, Kubernetes, Consul. */
export interface Discovery {
  /** Starts watching; calls onUpdate with the full list whenever it changes; resolves once the first list is known. */
  start(onUpdate: (endpoints: readonly DiscoveredEndpoint[]) => void, onError?: (error: unknown) => void): Promise<void>;
  /** Stops every timer, watch and socket. */
  close(): Promise<void>;
}
