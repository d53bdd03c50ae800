export { type Balancer, powerOfTwoChoices, roundRobin, weightedRoundRobin } from './balancers.js';
export { type ConsulDiscoveryOptions, consulDiscovery } from './discovery/consul.js';
export type { DiscoveredEndpoint, Discovery } from './discovery/discovery.js';
export { type DnsDiscoveryOptions, dnsDiscovery } from './discovery/dns.js';
export { staticDiscovery } from './discovery/static.js';
export {
  FailoverDispatcher,
  type FailoverDispatcherOptions,
  type FailoverEvents,
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
export type { FailoverMetrics, UpstreamMetrics, UpstreamOutcome } from './metrics-sink.js';
export { type PriorityLoad, type PriorityLoadOptions, priorityLoad, type TierHealth } from './priority.js';
export type { BalancerKind } from './router.js';
