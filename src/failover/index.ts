export {
  type ActiveCheckOptions,
  ActiveHealthChecker,
  type CheckState,
  type Probe,
  type ProbeOutcome,
} from './active-check.js';
export { type Balancer, powerOfTwoChoices, roundRobin, weightedRoundRobin } from './balancers.js';
export { type ConsulDiscoveryOptions, consulDiscovery } from './discovery/consul.js';
export type { DiscoveredEndpoint, Discovery } from './discovery/discovery.js';
export { type DnsDiscoveryOptions, dnsDiscovery } from './discovery/dns.js';
export { type KubernetesDiscoveryOptions, kubernetesDiscovery } from './discovery/kubernetes.js';
export { staticDiscovery } from './discovery/static.js';
export {
  FailoverDispatcher,
  type FailoverDispatcherOptions,
  type FailoverEvents,
  type FailoverHealthCheckOptions,
  type FailoverRetryOptions,
  type TierOptions,
} from './dispatcher.js';
export {
  type CallResult,
  ejectionTime,
  maxEjections,
  OutlierDetector,
  type OutlierDetectorOptions,
  type OutlierState,
} from './ejection.js';
export { AttemptTimeoutError, type RetryReason } from './failover-request.js';
export { type HttpProbeOptions, httpProbe } from './http-probe.js';
export type { FailoverMetrics, UpstreamMetrics, UpstreamOutcome } from './metrics-sink.js';
export { type PriorityLoad, type PriorityLoadOptions, priorityLoad, type TierHealth } from './priority.js';
export type { BalancerKind } from './router.js';
