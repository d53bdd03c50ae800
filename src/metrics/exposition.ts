import { Registry, type RegistryContentType } from 'prom-client';

/** One rendering of a registry: the body and the content type to send it with. */
export interface Exposition {
  contentType: string;
  body: string;
}

/** The formats `/metrics` can answer in. */
export type ExpositionFormat = 'prometheus' | 'openmetrics' | 'json';

/** The quality an Accept header gives `type` (its best matching range, `*` wildcards included), 0 when none. */
function quality(accept: string, type: string): number {
  let best = 0;
  let specificity = -1;
  const [major] = type.split('/');
  for (const range of accept.split(',')) {
    const [media = '', ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    const rank = media === type ? 2 : media === `${major}/*` ? 1 : media === '*/*' ? 0 : -1;
    if (rank < 0 || rank < specificity) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    if (!Number.isFinite(value)) continue;
    best = rank > specificity ? value : Math.max(best, value);
    specificity = rank;
  }
  return best;
}

/**
 * The format an `Accept` header asks for: JSON when it names `application/json`, OpenMetrics when
 * it prefers `application/openmetrics-text` to `text/plain` (Prometheus sends both, OpenMetrics
 * first), else the Prometheus text format. A missing or unparsable header gets the text format.
 */
export function negotiateExposition(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'prometheus';
  const json = quality(accept, 'application/json');
  const om = quality(accept, 'application/openmetrics-text');
  const text = quality(accept, 'text/plain');
  // JSON only when asked for by name: `*/*` (curl, browsers) keeps getting the text format.
  if (json > 0 && accept.toLowerCase().includes('application/json') && json >= Math.max(om, text)) return 'json';
  if (om > 0 && accept.toLowerCase().includes('application/openmetrics-text') && om > text) return 'openmetrics';
  return 'prometheus';
}

/** Renders of each registry, one at a time (see {@link exposition}). */
const queues = new WeakMap<Registry<RegistryContentType>, Promise<unknown>>();

/**
 * `registry` rendered in `format`. prom-client renders OpenMetrics by switching the registry's
 * content type and renaming its counters in place (dropping `_total`, which the samples then add
 * back), so renders of one registry run one after another and each OpenMetrics render restores
 * both: a Prometheus-format scrape never sees the other format's names.
 */
export function exposition(registry: Registry<RegistryContentType>, format: ExpositionFormat): Promise<Exposition> {
  const run = (queues.get(registry) ?? Promise.resolve()).then(() => render(registry, format));
  queues.set(
    registry,
    run.catch(() => {}),
  );
  return run;
}

async function render(registry: Registry<RegistryContentType>, format: ExpositionFormat): Promise<Exposition> {
  if (format === 'json') return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(await registry.getMetricsAsJSON()) };
  if (format === 'prometheus') return { contentType: registry.contentType, body: await registry.metrics() };
  const before = registry.contentType;
  const names = registry.getMetricsAsArray().map((m) => [m, m.name] as const);
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  try {
    return { contentType: Registry.OPENMETRICS_CONTENT_TYPE, body: await registry.metrics() };
  } finally {
    registry.setContentType(before);
    for (const [m, name] of names) Object.assign(m, { name });
  }
}
