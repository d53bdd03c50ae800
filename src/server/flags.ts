import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { NinesConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { FlagSet } from '../degrade/flags/flag-set.js';
import type { FlagLevel } from '../degrade/flags/level.js';
import { checkFlagDependencies, type FlagDefinition, type FlagInput, flagDefinitionSchema, problemsOf } from '../degrade/flags/schema.js';
import type { PostgresFlagStore } from '../degrade/stores/postgres/flag-store.js';
import { openFlagStore } from '../degrade/stores/postgres/open.js';
import { syncFlags } from '../degrade/stores/postgres/sync.js';
import { flagMetrics } from '../metrics/flag-metrics.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError, orUnavailable } from './errors.js';
import { MAX_AUDIT, Recent } from './recent.js';
import { iso } from './time.js';

/** One change made through the API: who, when, the flag before and after (undefined: absent). */
export interface FlagAuditEntry {
  at: number;
  by: string;
  flag: string;
  before: FlagDefinition | undefined;
  after: FlagDefinition | undefined;
}

/**
 * The flags of `nines serve`: a {@link FlagSet} from the config's `flags:`, changed by the admin API.
 * Without a store, changes and their audit log are held in memory and a reload puts the config's
 * flags back. With a PostgreSQL store, the store is the truth shared by every instance: changes
 * and the audit log are written there and every instance hears them; the config's flags only seed
 * the store with the flags it does not hold yet. A flag's `minLevel` reads `level`, the server's
 * degradation level.
 */
export class ServedFlags {
  /** The flags in force; evaluation reads only memory. */
  readonly set: FlagSet;
  readonly #audit = new Recent<FlagAuditEntry>();
  readonly #clock: Clock;
  readonly #store: PostgresFlagStore<FlagDefinition> | undefined;

  /** Flags from `flags` (a validated config's), or those of a started `store`, exported on `registry`; `level` defaults to `full`. */
  constructor(options: {
    flags: Record<string, FlagInput>;
    registry: Registry;
    clock: Clock;
    store?: PostgresFlagStore<FlagDefinition>;
    level?: () => FlagLevel;
  }) {
    this.#clock = options.clock;
    this.#store = options.store;
    this.set = new FlagSet({
      flags: options.flags,
      clock: options.clock,
      metrics: flagMetrics(options.registry),
      ...(options.level ? { level: options.level } : {}),
    });
    if (this.#store !== undefined) syncFlags(this.#store, this.set);
  }

  /** Applies a reloaded config's flags (validated there): all of them, or with a store the ones it lacks. */
  async reload(flags: Record<string, FlagInput>): Promise<void> {
    if (this.#store === undefined) return this.set.replace(flags);
    for (const [name, flag] of Object.entries(flags)) if (!this.#store.flags.has(name)) await this.#store.put(name, flag, { by: 'config' });
  }

  /** Sets flag `name` to `definition` (validated by the caller) and records who did it. */
  async put(name: string, definition: FlagDefinition, by: string): Promise<FlagAuditEntry> {
    const before = this.set.get(name);
    if (this.#store !== undefined) await this.#store.put(name, definition, { by });
    else this.set.set(name, definition);
    return this.#record({ at: this.#clock.now(), by, flag: name, before, after: this.set.get(name) });
  }

  /** Removes flag `name`; undefined when there was none. */
  async delete(name: string, by: string): Promise<FlagAuditEntry | undefined> {
    const before = this.set.get(name);
    const removed = this.#store !== undefined ? await this.#store.remove(name, { by }) : this.set.remove(name);
    if (!removed) return undefined;
    return this.#record({ at: this.#clock.now(), by, flag: name, before, after: undefined });
  }

  /** The audit log, newest first: the store's (every instance's changes), else this instance's. */
  async audit(): Promise<FlagAuditEntry[]> {
    if (this.#store === undefined) return this.#audit.newestFirst();
    const records = await this.#store.audit({ limit: MAX_AUDIT });
    return records.map(
      (r) => ({ at: r.at, by: r.by, flag: r.flag, before: r.before ?? undefined, after: r.after ?? undefined }) as FlagAuditEntry,
    );
  }

  #record(entry: FlagAuditEntry): FlagAuditEntry {
    if (this.#store !== undefined) return entry; // the store wrote it
    this.#audit.push(entry);
    return entry;
  }
}

/**
 * The flags `nines serve` runs with: on a PostgreSQL history store, a flag store in the same
 * database (tables `nines_flags`, `nines_flag_audit`) seeded with the config's flags it lacks;
 * otherwise in memory. `close` stops the store.
 */
export async function openServedFlags(
  config: Pick<NinesConfig, 'flags' | 'storage'>,
  options: { registry: Registry; clock: Clock; schema?: string; level?: () => FlagLevel },
): Promise<{ flags: ServedFlags; close(): Promise<void> }> {
  if (config.storage.kind !== 'postgres') {
    return { flags: new ServedFlags({ flags: config.flags, ...options }), close: async () => undefined };
  }
  const schema = options.schema ?? config.storage.schema;
  const opened = await openFlagStore(config.storage.url, { clock: options.clock, ...(schema === undefined ? {} : { schema }) });
  const flags = new ServedFlags({ ...options, flags: {}, store: opened.store });
  await flags.reload(config.flags);
  return { flags, close: opened.close };
}

/** Every flag together: each parent in `dependsOn` exists and depends on nothing itself. */
const withParents = z.custom<Record<string, FlagDefinition>>().superRefine((all, ctx) => checkFlagDependencies(all, ctx));

const FLAG_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 200 } },
} as const;

/** Who made a change: the `X-Nines-By` header in the caller's words, else `api`. */
export function byOf(header: string | string[] | undefined): string {
  const by = typeof header === 'string' ? header.trim().slice(0, 200) : '';
  return by === '' ? 'api' : by;
}

/** A flag as `/api/flags` shows it: its state, never its rules, targeting or variants. */
function flagView(flags: FlagSet, name: string) {
  const f = flags.get(name) as FlagDefinition;
  return { name, enabled: f.enabled, live: flags.live(name), minLevel: f.minLevel ?? null, description: f.description ?? null };
}

const auditView = (e: FlagAuditEntry) => ({ ...e, at: iso(e.at), before: e.before ?? null, after: e.after ?? null });

/**
 * `/api/flags`: every flag's state (public, as any read), and with the bearer token a flag set or
 * removed (`PUT`/`DELETE /api/flags/:name`) and the audit log of those changes.
 */
export function flagRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const served = ctx.flags;
  app.get('/api/flags', async () => ({ flags: served.set.names().map((name) => flagView(served.set, name)) }));

  app.get('/api/flags/audit', writeRoute(ctx.monitor), async (request) => ({
    entries: (await orUnavailable(request, served.audit(), 'flag store')).map(auditView),
  }));

  app.put<{ Params: { name: string } }>(
    '/api/flags/:name',
    { schema: { params: FLAG_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const parsed = flagDefinitionSchema.safeParse(request.body);
      if (!parsed.success) throw new HttpError(400, 'invalid flag', problemsOf(parsed.error));
      const together = withParents.safeParse({ ...served.set.all(), [request.params.name]: parsed.data });
      if (!together.success) throw new HttpError(400, 'invalid flag', problemsOf(together.error));
      const entry = await orUnavailable(
        request,
        served.put(request.params.name, parsed.data, byOf(request.headers['x-nines-by'])),
        'flag store',
      );
      return { flag: flagView(served.set, request.params.name), audit: auditView(entry) };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/flags/:name',
    { schema: { params: FLAG_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const entry = await orUnavailable(request, served.delete(request.params.name, byOf(request.headers['x-nines-by'])), 'flag store');
      if (entry === undefined) throw new HttpError(404, `unknown flag: ${request.params.name}`);
      return { audit: auditView(entry) };
    },
  );
}
