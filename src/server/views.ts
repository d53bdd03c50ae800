import type { WindowFigures } from '../monitor/figures.js';
import type { IncidentNotes, IncidentRecord, IncidentUpdateRecord, ProbeRecord, ProbeStats } from '../monitor/history.js';
import type { ComponentStatus } from '../monitor/monitor.js';
import type { ProbeResult } from '../monitor/probe.js';
import { iso, seconds } from './time.js';

/** A check result as the API shows it. */
export function checkView(r: ProbeResult | ProbeRecord): Record<string, unknown> {
  return { time: iso(r.time), timeMs: r.time, durationMs: r.durationMs, status: r.status, error: r.error ?? null };
}

/** A component's current status as the API shows it. */
export function componentView(c: ComponentStatus): Record<string, unknown> {
  return {
    name: c.name,
    critical: c.critical,
    status: c.status,
    // HA with a quorum: what the latest round found ("1 of 3 locations failing" while partial)
    locations:
      c.locations === undefined ? null : { failing: c.locations.failing, failingCount: c.locations.failing.length, of: c.locations.of },
    lastCheck: c.last ? checkView(c.last) : null,
    incidentSince: iso(c.incidentSince),
    flapping: c.flapping,
    degradedSince: iso(c.degradedSince),
    certificateExpiresAt: iso(c.certificateExpiresAt),
    acknowledged: c.acknowledged,
    maintenance: c.maintenance,
  };
}

/** An update of an incident as the API shows it. */
export function updateView(u: IncidentUpdateRecord): Record<string, unknown> {
  return { id: u.id, time: iso(u.time), visibility: u.visibility, status: u.status, message: u.message, by: u.by };
}

/** An incident as the API shows it, with what people added (`notes`); an open one's duration runs until `now`. */
export function incidentView(i: IncidentRecord, now: number, notes: IncidentNotes | undefined): Record<string, unknown> {
  const acknowledged = notes?.acknowledged;
  return {
    id: i.id,
    component: i.component,
    start: iso(i.start),
    end: iso(i.end),
    active: i.end === null,
    error: i.error,
    durationSeconds: ((i.end ?? now) - i.start) / 1000,
    acknowledged: acknowledged ? { at: iso(acknowledged.at), by: acknowledged.by } : null,
    postmortem: notes?.postmortem ?? null,
    updates: (notes?.updates ?? []).map(updateView),
  };
}

/** Figures and check statistics of one window as the API (and the status page) show them. */
export function figuresView(window: string, f: WindowFigures, stats: ProbeStats) {
  return {
    window,
    from: iso(f.from),
    to: iso(f.to),
    availability: f.availability,
    uptimeSeconds: f.upMs / 1000,
    downtimeSeconds: f.downMs / 1000,
    unobservedSeconds: f.unobservedMs / 1000,
    maintenanceSeconds: f.maintenanceMs / 1000,
    incidentsStarted: f.incidentsStarted,
    incidentsResolved: f.incidentsResolved,
    mtbfSeconds: seconds(f.mtbfMs),
    mttrSeconds: seconds(f.mttrMs),
    checks: {
      total: stats.total,
      healthy: stats.healthy,
      degraded: stats.degraded,
      unhealthy: stats.unhealthy,
      p50Ms: stats.p50,
      p95Ms: stats.p95,
      p99Ms: stats.p99,
    },
  };
}

/** One window's figures as the API shows them. */
export type FiguresView = ReturnType<typeof figuresView>;
