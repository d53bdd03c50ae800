import type { ComponentConfig } from '../../config/index.js';
import { isNinesError } from '../../core/errors.js';
import type { DayFigures, IncidentNotes, IncidentRecord, ProbeStats, SloFigures } from '../../monitor/history.js';
import { covers } from '../../monitor/maintenance.js';
import type { ComponentStatus } from '../../monitor/monitor.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { slicer } from '../slice.js';

/** Days of uptime bars per component. */
export const DAYS = 90;
const MINUTE = 60_000;
/** The latency chart: the last 24 h in half hours. */
export const LATENCY_STEP = 30 * MINUTE;
const LATENCY_STEPS = 48;

/** Response time of the last 24 h, one point per step, oldest first. */
export interface LatencySeries {
  from: number;
  step: number;
  points: ProbeStats[];
}

/** What the page shows of one component. */
export interface ComponentModel {
  status: ComponentStatus;
  config: ComponentConfig;
  days: DayFigures[];
  latency: LatencySeries;
}

/** Everything the page at `/` shows. */
export interface IndexModel {
  now: number;
  components: ComponentModel[];
  /** Incidents of public components, newest first (open ones included). */
  incidents: IncidentRecord[];
  /** Their postmortems and public updates, by incident id. */
  notes: Map<number, IncidentNotes>;
  slos: SloFigures[];
  /** The monitor suspects its own network: statuses are unknown, not down. */
  blind?: boolean;
  /** Maintenance in progress or due within a week that covers a public component: what visitors are told. */
  maintenance: MaintenanceNotice[];
  /** The store failed: statuses are live, history (bars, chart, incidents, SLOs) is left out. */
  historyUnavailable?: boolean;
  /** How visitors may subscribe to updates; undefined when they may not. */
  subscribe?: { email: boolean; webhook: boolean };
}

/** A maintenance window as the page shows it: no internal component named. */
export interface MaintenanceNotice {
  name: string;
  title: string;
  description: string | undefined;
  from: number;
  to: number;
  inProgress: boolean;
  /** The public components it covers. */
  components: string[];
}

const NOTICE_AHEAD = 7 * 86_400_000;

/** The maintenance the page announces at `now`: in progress first, then the upcoming by start. */
export function maintenanceNotices(ctx: ServerContext, shown: Map<string, ComponentConfig>, now: number): MaintenanceNotice[] {
  const book = ctx.monitor.maintenance;
  const out: MaintenanceNotice[] = [];
  for (const w of book.all()) {
    const occurrence = book.current(w, now);
    if (occurrence === undefined || occurrence.from > now + NOTICE_AHEAD) continue;
    const components = [...shown.values()].filter((c) => covers(w, c)).map((c) => c.name);
    if (components.length === 0) continue;
    const { name, title, description } = w;
    out.push({ name, title, description, from: occurrence.from, to: occurrence.to, inProgress: occurrence.from <= now, components });
  }
  return out.sort((a, b) => Number(b.inProgress) - Number(a.inProgress) || a.from - b.from);
}

/** The public components' configs, by name: the only ones the page, badges and feed show. */
export function publicComponents(ctx: ServerContext): Map<string, ComponentConfig> {
  return new Map(ctx.monitor.config.components.filter((c) => c.public).map((c) => [c.name, c]));
}

/** The public component `name`, or a 404 (an internal one is indistinguishable from none). */
export function publicComponent(ctx: ServerContext, name: string): { status: ComponentStatus; config: ComponentConfig } {
  const config = publicComponents(ctx).get(name);
  const status = ctx.monitor.status().find((s) => s.name === name);
  if (config === undefined || status === undefined) throw new HttpError(404, `unknown component: ${name}`);
  return { status, config };
}

/** A component's live status without its history: what the page shows while the store fails. */
export function liveOnly(status: ComponentStatus, config: ComponentConfig, now: number): ComponentModel {
  return { status, config, days: [], latency: { from: now, step: LATENCY_STEP, points: [] } };
}

/** Bars, latency and status of one public component, as of `now`. */
export async function componentModel(
  ctx: ServerContext,
  status: ComponentStatus,
  config: ComponentConfig,
  now: number,
): Promise<ComponentModel> {
  const days = (await ctx.history.daily(status.name, DAYS)) ?? [];
  const from = Math.floor(now / LATENCY_STEP) * LATENCY_STEP - (LATENCY_STEPS - 1) * LATENCY_STEP;
  const points = await ctx.history.probeSeries(status.name, from, from + LATENCY_STEPS * LATENCY_STEP, LATENCY_STEP);
  return { status, config, days, latency: { from, step: LATENCY_STEP, points } };
}

/**
 * The model of `/`: public components only, from the same code as the API. While the store fails
 * the page still answers "is it down?" from the monitor's memory, without the history.
 */
export async function indexModel(ctx: ServerContext): Promise<IndexModel> {
  const kinds = ctx.subscriptions?.kinds();
  const subscribe = kinds !== undefined && (kinds.email || kinds.webhook) ? { subscribe: kinds } : {};
  try {
    return { ...(await fullIndexModel(ctx)), ...subscribe };
  } catch (error) {
    if (!isNinesError(error, 'NINES_STORE_UNAVAILABLE')) throw error;
    const now = ctx.clock.now();
    const shown = publicComponents(ctx);
    const components = ctx.monitor.status().flatMap((status) => {
      const config = shown.get(status.name);
      return config === undefined ? [] : [liveOnly(status, config, now)];
    });
    const blind = ctx.monitor.connectivity().suspect;
    const maintenance = maintenanceNotices(ctx, shown, now);
    return { now, components, incidents: [], notes: new Map(), slos: [], maintenance, historyUnavailable: true, blind, ...subscribe };
  }
}

async function fullIndexModel(ctx: ServerContext): Promise<IndexModel> {
  const now = ctx.clock.now();
  const shown = publicComponents(ctx);
  const components: ComponentModel[] = [];
  const pause = slicer();
  for (const status of ctx.monitor.status()) {
    await pause();
    const config = shown.get(status.name);
    if (config !== undefined) components.push(await componentModel(ctx, status, config, now));
  }
  const incidents = await publicIncidents(ctx, shown, 20);
  const slos: SloFigures[] = [];
  for (const slo of ctx.monitor.config.slos) {
    if (!shown.has(slo.component)) continue;
    await pause();
    const f = await ctx.history.slo(slo);
    if (f !== undefined) slos.push(f);
  }
  const notes = await publicNotes(ctx, incidents);
  return {
    now,
    components,
    incidents,
    notes,
    slos,
    maintenance: maintenanceNotices(ctx, shown, now),
    blind: ctx.monitor.connectivity().suspect,
  };
}

/** What the page and the feed show of what people added to `incidents`: postmortems and public updates, never internal ones. */
export function publicNotes(ctx: ServerContext, incidents: readonly IncidentRecord[]): Promise<Map<number, IncidentNotes>> {
  return ctx.history.incidentNotes(
    incidents.map((i) => i.id),
    { internal: false },
  );
}

/** The newest `limit` incidents of public components (or of one component). */
export async function publicIncidents(
  ctx: ServerContext,
  shown: Map<string, ComponentConfig>,
  limit: number,
  component?: string,
): Promise<IncidentRecord[]> {
  const out: IncidentRecord[] = [];
  let before: number | undefined;
  // Internal components' incidents are skipped, so read pages until `limit` public ones are found.
  for (;;) {
    const page = await ctx.history.incidents({
      limit: 100,
      ...(component === undefined ? {} : { component }),
      ...(before === undefined ? {} : { before }),
    });
    out.push(...page.items.filter((i) => shown.has(i.component)));
    if (out.length >= limit || page.next === null) return out.slice(0, limit);
    before = page.next;
  }
}
