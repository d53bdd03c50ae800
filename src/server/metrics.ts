import type { FastifyInstance } from 'fastify';
import type { Gauge, Registry } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { exposition, negotiateExposition } from '../metrics/exposition.js';
import { metric } from '../metrics/metric.js';
import { METRICS } from '../metrics/names.js';
import type { Monitor } from '../monitor/monitor.js';
import type { ServerContext } from './context.js';
import { UNLIMITED } from './rate-limits.js';
import { slicer } from './slice.js';
import { WINDOWS } from './time.js';

type Labels = Readonly<Record<string, string>>;
/** A gauge sample as prom-client's registry reads it; `sharedLabels` is `labels` itself (see {@link LabelSets}). */
type Sample = { labels: Labels; sharedLabels: Labels; value: number };

/**
 * One frozen label object per series, kept across scrapes. prom-client formats a sample's
 * `sharedLabels` once per object (a WeakMap) and skips `labels` it already names, so handing it the
 * same object as both formats each series' labels once, not at every scrape; at 1,000 components
 * that formatting was most of a scrape's CPU. Emptied when the config changes, so removed
 * components do not stay.
 */
class LabelSets {
  #sets = new Map<string, Labels>();
  #config: unknown;

  /** Forgets every set when `config` is not the one they were made for. */
  forConfig(config: unknown): void {
    if (config === this.#config) return;
    this.#sets.clear();
    this.#config = config;
  }

  /** The label set `{ [key]: value }` or `{ [key]: value, [key2]: value2 }`. */
  of(key: string, value: string, key2?: string, value2?: string): Labels {
    const id = key2 === undefined ? `${key}\0${value}` : `${key}\0${value}\0${key2}\0${value2}`;
    let set = this.#sets.get(id);
    if (set === undefined) {
      set = Object.freeze(key2 === undefined || value2 === undefined ? { [key]: value } : { [key]: value, [key2]: value2 });
      this.#sets.set(id, set);
    }
    return set;
  }
}

const sample = (labels: Labels, value: number): Sample => ({ labels, sharedLabels: labels, value });
const NO_LABELS: Labels = Object.freeze({});

/** Every monitor gauge's samples at one instant. */
interface Snapshot {
  /** The one `now` every figure was evaluated at (clock ms). */
  at: number;
  up: Sample[];
  active: Sample[];
  availability: Sample[];
  budget: Sample[];
  burn: Sample[];
}

/**
 * Reads every figure the gauges show, with one `now` so they agree with each other and with the
 * API. The figures come from the monitor's running figures (memory, the values the store gives),
 * not from the store: a scrape reads no database. A component whose history could not be loaded
 * yet (the store was down since the start) is left out of the figures' gauges and the rest is still
 * served: the alerts on `nines_component_up` must not go quiet because the history database did.
 */
async function snapshot(monitor: Monitor, clock: Clock, sets: LabelSets): Promise<Snapshot> {
  const now = clock.now();
  sets.forConfig(monitor.config);
  const s: Snapshot = { at: now, up: [], active: [], availability: [], budget: [], burn: [] };
  const statuses = monitor.status();
  for (const c of statuses) {
    const labels = sets.of('component', c.name);
    s.up.push(sample(labels, c.status === 'unhealthy' ? 0 : 1));
    s.active.push(sample(labels, c.incidentSince === undefined ? 0 : 1));
  }
  await monitor.history.loadRunning(); // a no-op once every component's history is in memory
  const pause = slicer();
  for (const c of statuses) {
    await pause();
    for (const [window, ms] of Object.entries(WINDOWS)) {
      const f = monitor.history.runningFigures(c.name, { from: now - ms, to: now }, now);
      if (f?.availability != null) s.availability.push(sample(sets.of('component', c.name, 'window', window), f.availability));
    }
  }
  for (const slo of monitor.config.slos) {
    await pause();
    const f = monitor.history.runningSlo(slo, now);
    if (f === undefined) continue;
    s.budget.push(sample(sets.of('slo', slo.name), f.budgetRemaining));
    for (const [window, rate] of Object.entries(f.burnRates))
      if (rate !== null) s.burn.push(sample(sets.of('slo', slo.name, 'window', window), rate));
  }
  return s;
}

/**
 * Makes `gauge` show `pick(snapshot)` at every scrape, replacing any earlier one. The samples are
 * handed to the registry as they are: setting thousands of labelled values one by one (a hash of
 * the labels each) cost more than reading the figures.
 */
function onScrape(gauge: Gauge<string>, read: () => Promise<Snapshot>, pick: (s: Snapshot) => Sample[]): void {
  const { name, help } = gauge as unknown as { name: string; help: string }; // prom-client's own fields, not typed
  const get = async () => ({ name, help, type: 'gauge', values: pick(await read()), aggregator: 'sum' });
  Object.assign(gauge, { get });
}

/**
 * Registers the monitor's gauges on `registry`, refreshed at scrape time: component up and active
 * incidents, availability per window, SLO error budget remaining and burn rates. One scrape reads
 * the monitor once, whichever gauge asks first.
 */
export function monitorMetrics(registry: Registry, monitor: Monitor, clock: Clock): void {
  const sets = new LabelSets();
  let pending: Promise<Snapshot> | undefined;
  const read = () => {
    pending ??= snapshot(monitor, clock, sets).finally(() => {
      pending = undefined;
    });
    return pending;
  };
  const gauge = (name: string, help: string, labels: string[]) => metric(registry, 'gauge', name, help, labels);
  onScrape(gauge(METRICS.componentUp, '1 when the component is not unhealthy, 0 when it is', ['component']), read, (s) => s.up);
  onScrape(gauge(METRICS.incidentsActive, '1 while the component has an open incident', ['component']), read, (s) => s.active);
  onScrape(
    gauge(METRICS.availabilityRatio, 'Time-weighted availability (uptime / observed time) over the window', ['component', 'window']),
    read,
    (s) => s.availability,
  );
  onScrape(
    gauge(METRICS.errorBudgetRemainingRatio, '1 - downtime / error budget over the SLO window; negative once overspent', ['slo']),
    read,
    (s) => s.budget,
  );
  onScrape(
    gauge(METRICS.sloBurnRate, 'Error budget burn rate over the window (1 spends it exactly)', ['slo', 'window']),
    read,
    (s) => s.burn,
  );
  // The instant of this scrape's figures, to the ms: the API's `?at=` gives the same figures for it.
  onScrape(
    gauge(METRICS.figuresEvaluatedTimestampSeconds, 'Unix time (s, ms precision) at which the figures of this scrape were evaluated', []),
    read,
    (s) => [sample(NO_LABELS, s.at / 1000)],
  );
}

/** `GET /metrics`: Prometheus text, OpenMetrics when the scraper prefers it (Prometheus does), or JSON with `Accept: application/json`. */
export function metricsRoute(app: FastifyInstance, ctx: ServerContext): void {
  monitorMetrics(ctx.registry, ctx.monitor, ctx.clock);
  app.get('/metrics', UNLIMITED, async (request, reply) => {
    const { contentType, body } = await exposition(ctx.registry, negotiateExposition(request.headers.accept));
    return reply.header('cache-control', 'no-store').header('vary', 'accept').header('content-type', contentType).send(body);
  });
}
