import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { FlagSet } from '../degrade/flags/flag-set.js';
import { checkFlagDependencies, type FlagDefinition, type FlagInput, flagDefinitionSchema, problemsOf } from '../degrade/flags/schema.js';
import { degradationMetrics } from '../metrics/degradation-metrics.js';
import { flagMetrics } from '../metrics/flag-metrics.js';
import { writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { iso } from './time.js';

/** One change made through the API: who, when, the flag before and after (undefined: absent). */
export interface FlagAuditEntry {
  at: number;
  by: string;
  flag: string;
  before: FlagDefinition | undefined;
  after: FlagDefinition | undefined;
}

/** Most audit entries kept in memory; the oldest go first. */
export const MAX_FLAG_AUDIT = 1000;

/**
 * The flags of `nines serve`: a {@link FlagSet} from the config's `flags:`, changed by the admin API
 * and replaced by a reload. Changes and their audit log are held in memory, so a PUT lasts until
 * the next restart or reload. The server runs no degradation rules: its level is always `full`.
 */
export class ServedFlags {
  /** The flags in force; evaluation reads only memory. */
  readonly set: FlagSet;
  readonly #audit: FlagAuditEntry[] = [];
  readonly #clock: Clock;

  /** Flags from `flags` (a validated config's), exported on `registry` as `nines_flag_enabled`. */
  constructor(options: { flags: Record<string, FlagInput>; registry: Registry; clock: Clock }) {
    this.#clock = options.clock;
    this.set = new FlagSet({ flags: options.flags, clock: options.clock, metrics: flagMetrics(options.registry) });
    degradationMetrics(options.registry).manager(['none']).state('full', 'none');
  }

  /** Replaces every flag with a reloaded config's (validated there, so it does not fail). */
  reload(flags: Record<string, FlagInput>): void {
    this.set.replace(flags);
  }

  /** Sets flag `name` from `input` (validated by the caller) and records who did it. */
  put(name: string, definition: FlagDefinition, by: string): FlagAuditEntry {
    const before = this.set.get(name);
    this.set.set(name, definition);
    return this.#record({ at: this.#clock.now(), by, flag: name, before, after: this.set.get(name) });
  }

  /** Removes flag `name`; undefined when there was none. */
  delete(name: string, by: string): FlagAuditEntry | undefined {
    const before = this.set.get(name);
    if (before === undefined || !this.set.remove(name)) return undefined;
    return this.#record({ at: this.#clock.now(), by, flag: name, before, after: undefined });
  }

  /** The audit log, newest first. */
  audit(): FlagAuditEntry[] {
    return [...this.#audit].reverse();
  }

  #record(entry: FlagAuditEntry): FlagAuditEntry {
    this.#audit.push(entry);
    if (this.#audit.length > MAX_FLAG_AUDIT) this.#audit.shift();
    return entry;
  }
}

/** Every flag together: each parent in `dependsOn` exists and depends on nothing itself. */
const withParents = z.custom<Record<string, FlagDefinition>>().superRefine((all, ctx) => checkFlagDependencies(all, ctx));

const FLAG_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$', maxLength: 200 } },
} as const;

/** Who made a change: the `X-Nines-By` header in the caller's words, else `api`. */
function byOf(header: string | string[] | undefined): string {
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

  app.get('/api/flags/audit', writeRoute(ctx.monitor), async () => ({ entries: served.audit().map(auditView) }));

  app.put<{ Params: { name: string } }>(
    '/api/flags/:name',
    { schema: { params: FLAG_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const parsed = flagDefinitionSchema.safeParse(request.body);
      if (!parsed.success) throw new HttpError(400, 'invalid flag', problemsOf(parsed.error));
      const together = withParents.safeParse({ ...served.set.all(), [request.params.name]: parsed.data });
      if (!together.success) throw new HttpError(400, 'invalid flag', problemsOf(together.error));
      const entry = served.put(request.params.name, parsed.data, byOf(request.headers['x-nines-by']));
      return { flag: flagView(served.set, request.params.name), audit: auditView(entry) };
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/flags/:name',
    { schema: { params: FLAG_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      const entry = served.delete(request.params.name, byOf(request.headers['x-nines-by']));
      if (entry === undefined) throw new HttpError(404, `unknown flag: ${request.params.name}`);
      return { audit: auditView(entry) };
    },
  );
}
