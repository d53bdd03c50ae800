import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { DegradationConfig } from '../config/degradation.js';
import type { NinesConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { problemsOf } from '../degrade/flags/schema.js';
import { DEGRADATION_LEVELS, type DegradationLevel } from '../degrade/levels/levels.js';
import { type DegradationChange, DegradationManager } from '../degrade/levels/manager.js';
import type { DegradationRule } from '../degrade/levels/rules.js';
import type { PostgresDocuments } from '../degrade/stores/postgres/documents.js';
import { openDocuments } from '../degrade/stores/postgres/open.js';
import { HealthCheckRegistry } from '../health/registry.js';
import { degradationMetrics } from '../metrics/degradation-metrics.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError, orUnavailable } from './errors.js';
import { byOf } from './flags.js';
import { MAX_AUDIT, Recent } from './recent.js';
import { iso } from './time.js';

/** What the `store` check asks: the history store fits. */
type Pingable = { ping(): Promise<void> };

/** An operator's level as the API takes it. */
const overrideSchema = z.strictObject({
  level: z.enum(DEGRADATION_LEVELS),
  reason: z.string().trim().min(1).max(500).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
});

/** What the shared store holds under `override`: the operator's level (null once cleared) and the change its writer made. */
const storedSchema = z.strictObject({
  override: z
    .strictObject({ level: z.enum(DEGRADATION_LEVELS), reason: z.string(), by: z.string(), until: z.number().optional() })
    .nullable(),
  change: z.custom<ManualChange>((c) => typeof c === 'object' && c !== null),
});

/** A manual change as stored: its audit row gives `at` and `by`. */
type ManualChange = Omit<DegradationChange, 'at' | 'by'>;

type Stored = z.infer<typeof storedSchema>;

const KEY = 'override';

/** An operator's level: `by` sets `level` for `reason`, until cleared or `until` (wall-clock ms). */
export interface LevelOverride {
  level: DegradationLevel;
  reason: string;
  by: string;
  until?: number;
}

/**
 * The degradation level of `nines serve`: a {@link DegradationManager} whose rules read the
 * service's own checks (`health`: its history store) and which an operator overrides through the
 * API. With `shared` (a PostgreSQL table, when the history is on PostgreSQL) the override is the
 * same for every instance: each hears a change by `NOTIFY` and applies it, and the audit log of
 * overrides is kept there. Each instance's rules read its own checks, so their changes (and an
 * override lapsing) are recorded in memory, the last {@link MAX_AUDIT}.
 */
export class ServedDegradation {
  /** The level in force; the server's flags read `manager.current`. */
  readonly manager: DegradationManager;
  readonly #audit = new Recent<DegradationChange>();
  readonly #shared: PostgresDocuments<Stored> | undefined;
  /** The service's own checks the rules read (`store`); undefined without rules. */
  readonly health: HealthCheckRegistry | undefined;
  readonly #clock: Clock;

  /** A manager on `clock` exported on `registry` (`nines_degradation_level`, `nines_degradation_reason`), with `rules` over `health`'s checks. */
  constructor(options: {
    registry: Registry;
    clock: Clock;
    rules?: readonly DegradationRule[];
    health?: HealthCheckRegistry;
    shared?: PostgresDocuments<Stored>;
  }) {
    this.health = options.health;
    this.#clock = options.clock;
    this.#shared = options.shared;
    this.manager = new DegradationManager({
      clock: options.clock,
      metrics: degradationMetrics(options.registry),
      rules: options.rules ?? [],
      ...(options.health === undefined ? {} : { health: options.health }),
    });
    this.manager.on('change', (change) => {
      if (this.#shared !== undefined && change.source === 'manual') return; // the shared log holds it, with every instance's
      this.#audit.push(change);
    });
    if (this.#shared !== undefined) {
      const shared = this.#shared;
      const apply = () => this.#apply(shared.documents.get(KEY)?.override ?? null);
      shared.on('change', apply);
      shared.on('replace', apply);
      apply();
    }
  }

  /** Sets the operator's level (every instance's, when shared). */
  async set(override: LevelOverride): Promise<void> {
    const { level, reason, by, until } = override;
    if (this.#shared === undefined) return this.manager.set(level, { by, reason, ...(until === undefined ? {} : { until }) });
    const change = this.#change(level, reason, until);
    await this.#shared.put(KEY, { override: { level, reason, by, ...(until === undefined ? {} : { until }) }, change }, { by, reason });
  }

  /** Clears the operator's level so the rules apply again; false when none was set. */
  async clear(by: string): Promise<boolean> {
    if (this.manager.source !== 'manual') return false;
    if (this.#shared === undefined) return this.manager.clear({ by });
    const ruled = this.manager.ruled;
    await this.#shared.put(KEY, { override: null, change: this.#change(ruled.level, ruled.reason, undefined) }, { by });
    return true;
  }

  /** The changes, newest first: the operator's (every instance's when shared) and this instance's by its rules. */
  async audit(): Promise<DegradationChange[]> {
    const local = this.#audit.newestFirst();
    if (this.#shared !== undefined) {
      const records = await this.#shared.history({ name: KEY, limit: MAX_AUDIT });
      for (const r of records) {
        const after = r.after as Stored | null; // null only for a row deleted by hand
        if (after !== null) local.push({ ...after.change, at: r.at, by: r.by });
      }
    }
    return local.sort((a, b) => b.at - a.at).slice(0, MAX_AUDIT);
  }

  /** Stops the checks and the override's timer (a shared store is its opener's to close). */
  close(): void {
    this.health?.stop();
    this.manager.close();
  }

  /** The record of a manual change to `to` made here now (what every instance will apply). */
  #change(to: DegradationLevel, reason: string, until: number | undefined): ManualChange {
    const change: ManualChange = { from: this.manager.level, to, reason, source: 'manual' };
    if (until !== undefined) change.until = until;
    return change;
  }

  /** Follows the shared override; one that has lapsed while stored is no longer in force. */
  #apply(override: Stored['override']): void {
    const m = this.manager;
    if (override === null || (override.until !== undefined && override.until <= this.#clock.now())) {
      if (m.source === 'manual') m.clear({ by: override?.by ?? 'shared' });
      return;
    }
    const s = m.state();
    if (s.source === 'manual' && s.level === override.level && s.reason === override.reason && s.until === override.until) return;
    m.set(override.level, { by: override.by, reason: override.reason, ...(override.until === undefined ? {} : { until: override.until }) });
  }
}

/**
 * The level `nines serve` runs with: its own check of the history store every
 * `degradation.interval`, the config's rules over it, and on a PostgreSQL history store the
 * override shared in the same database (tables `nines_degradation`, `nines_degradation_audit`).
 * `close` stops it all.
 */
export async function openServedDegradation(
  config: Pick<NinesConfig, 'degradation' | 'storage'>,
  options: { registry: Registry; clock: Clock; store: Pingable },
): Promise<{ degradation: ServedDegradation; close(): Promise<void> }> {
  const rules = config.degradation.rules as DegradationRule[];
  const health = rules.length === 0 ? undefined : serveChecks(config.degradation, options);
  if (config.storage.kind !== 'postgres') {
    const degradation = new ServedDegradation({ ...options, rules, ...(health ? { health } : {}) });
    health?.start();
    return { degradation, close: async () => degradation.close() };
  }
  const opened = await openDocuments<Stored>(config.storage.url, {
    ...(config.storage.schema === undefined ? {} : { schema: config.storage.schema }),
    table: 'nines_degradation',
    auditTable: 'nines_degradation_audit',
    parse: (_name, definition) => storedSchema.parse(definition),
    clock: options.clock,
  });
  const shared = opened.store;
  const degradation = new ServedDegradation({ ...options, rules, shared, ...(health ? { health } : {}) });
  health?.start();
  return {
    degradation,
    close: async () => {
      degradation.close();
      await opened.close();
    },
  };
}

/** The service's own checks, which `degradation.rules` read: `store` asks the history store for `select 1`. */
function serveChecks(config: DegradationConfig, options: { clock: Clock; store: Pingable }): HealthCheckRegistry {
  return new HealthCheckRegistry({ interval: config.interval, clock: options.clock }).register('store', () => options.store.ping(), {
    critical: true,
    timeout: config.timeout,
    degradedAfter: config.timeout,
  });
}

function stateView(served: ServedDegradation) {
  const s = served.manager.state();
  const ruled = served.manager.ruled;
  return {
    level: s.level,
    reason: s.reason,
    source: s.source,
    since: iso(s.since),
    until: iso(s.until),
    rules: { level: ruled.level, reason: ruled.reason, rule: ruled.rule ?? null },
  };
}

const changeView = (c: DegradationChange) => ({ ...c, at: iso(c.at), until: iso(c.until), rule: c.rule ?? null });

/**
 * `/api/degradation`: the level in force (public), and with the bearer token a manual level set
 * (`PUT`) or cleared (`DELETE`) and the record of those changes (`GET /api/degradation/audit`).
 */
export function degradationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const served = ctx.degradation;
  app.get('/api/degradation', async () => stateView(served));

  app.get('/api/degradation/audit', writeRoute(ctx.monitor), async (request) => ({
    entries: (await orUnavailable(request, served.audit(), 'degradation store')).map(changeView),
  }));

  app.put('/api/degradation', writeRoute(ctx.monitor), async (request) => {
    const parsed = overrideSchema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, 'invalid degradation level', problemsOf(parsed.error));
    const { level, reason, until } = parsed.data;
    const untilMs = until === undefined ? undefined : Date.parse(until);
    if (untilMs !== undefined && untilMs <= ctx.clock.now()) {
      throw new HttpError(400, 'invalid degradation level', ['until: must be in the future']);
    }
    const by = byOf(request.headers['x-nines-by']);
    await orUnavailable(
      request,
      served.set({ level, by, reason: reason ?? `set by ${by}`, ...(untilMs === undefined ? {} : { until: untilMs }) }),
      'degradation store',
    );
    return stateView(served);
  });

  app.delete('/api/degradation', writeRoute(ctx.monitor), async (request) => {
    if (!(await orUnavailable(request, served.clear(byOf(request.headers['x-nines-by'])), 'degradation store')))
      throw new HttpError(404, 'no manual level is set');
    return stateView(served);
  });
}
