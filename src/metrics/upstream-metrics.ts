import type { Registry } from 'prom-client';
import type { FailoverMetrics, UpstreamMetrics, UpstreamOutcome } from '../failover/metrics-sink.js';
import { metric } from './metric.js';
import { METRICS } from './names.js';

const OUTCOMES: readonly UpstreamOutcome[] = ['success', 'server_error', 'error', 'no_healthy_upstream'];
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Failover metrics on `registry`, `nines_upstream_*`: requests by outcome and their duration,
 * each endpoint's up and ejected state, ejections by reason (and those the cap refused), health
 * checks, load and panic per tier, retries by reason and retries the budget refused. An endpoint
 * that leaves the upstream takes its series with it, so discovery churn does not grow the registry.
 */
export function upstreamMetrics(registry: Registry): FailoverMetrics {
  const requests = metric(registry, 'counter', METRICS.upstreamRequestsTotal, 'Requests through a failover dispatcher by outcome', [
    'upstream',
    'outcome',
  ]);
  const duration = metric(
    registry,
    'histogram',
    METRICS.upstreamRequestDurationSeconds,
    'Time from dispatch to the end of the response, all attempts included',
    ['upstream'],
    BUCKETS,
  );
  const up = metric(registry, 'gauge', METRICS.upstreamEndpointUp, '1 when the endpoint takes new requests', ['upstream', 'endpoint']);
  const ejected = metric(registry, 'gauge', METRICS.upstreamEndpointEjected, '1 while outlier detection has ejected the endpoint', [
    'upstream',
    'endpoint',
  ]);
  const ejections = metric(registry, 'counter', METRICS.upstreamEjectionsTotal, 'Outlier ejections by reason', [
    'upstream',
    'endpoint',
    'reason',
  ]);
  const overflow = metric(
    registry,
    'counter',
    METRICS.upstreamEjectionsOverflowTotal,
    'Endpoints that reached an ejection threshold while the ejection cap was full',
    ['upstream', 'endpoint', 'reason'],
  );
  const checks = metric(registry, 'counter', METRICS.upstreamHealthChecksTotal, 'Active health checks by result', [
    'upstream',
    'endpoint',
    'result',
  ]);
  const load = metric(registry, 'gauge', METRICS.upstreamTierLoadPercent, 'Share of new requests each tier gets, in percent', [
    'upstream',
    'tier',
  ]);
  const panic = metric(registry, 'gauge', METRICS.upstreamPanic, '1 while the tier spreads over all its hosts, healthy or not', [
    'upstream',
    'tier',
  ]);
  const retries = metric(registry, 'counter', METRICS.upstreamRetriesTotal, 'Retries on another host by reason', ['upstream', 'reason']);
  const exhausted = metric(
    registry,
    'counter',
    METRICS.upstreamRetryBudgetExhaustedTotal,
    'Retries refused because the retry budget was spent',
    ['upstream'],
  );
  return {
    upstream(name): UpstreamMetrics {
      const byOutcome = new Map(OUTCOMES.map((o) => [o, requests.labels(name, o)]));
      for (const c of byOutcome.values()) c.inc(0); // exported from the start, so rate() sees the first of each
      const seconds = duration.labels(name);
      const budget = exhausted.labels(name);
      budget.inc(0);
      // per endpoint, the series it has, so it can take them away when it leaves
      const series = new Map<string, Map<string, () => void>>();
      const track = (origin: string, key: string, remove: () => void): void => {
        const own = series.get(origin) ?? new Map<string, () => void>();
        series.set(origin, own);
        if (!own.has(key)) own.set(key, remove);
      };
      return {
        request(outcome, s) {
          byOutcome.get(outcome)?.inc();
          seconds.observe(s);
        },
        endpoint(origin, present) {
          if (present) {
            track(origin, 'state', () => {
              up.remove(name, origin);
              ejected.remove(name, origin);
            });
            return;
          }
          for (const remove of series.get(origin)?.values() ?? []) remove();
          series.delete(origin);
        },
        state(origin, isUp, isEjected) {
          up.labels(name, origin).set(isUp ? 1 : 0);
          ejected.labels(name, origin).set(isEjected ? 1 : 0);
        },
        ejection(origin, reason) {
          ejections.labels(name, origin, reason).inc();
          track(origin, `e${reason}`, () => ejections.remove(name, origin, reason));
        },
        overflow(origin, reason) {
          overflow.labels(name, origin, reason).inc();
          track(origin, `o${reason}`, () => overflow.remove(name, origin, reason));
        },
        healthCheck(origin, result) {
          checks.labels(name, origin, result).inc();
          track(origin, `c${result}`, () => checks.remove(name, origin, result));
        },
        tierLoad(loads) {
          loads.forEach((l, i) => {
            load.labels(name, String(i)).set(l);
          });
        },
        panic: (tier, p) => panic.labels(name, String(tier)).set(p ? 1 : 0),
        retry: (reason) => retries.labels(name, reason).inc(),
        budgetExhausted: () => budget.inc(),
      };
    },
  };
}
