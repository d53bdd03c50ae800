import { Cron } from 'croner';
import { type MaintenanceConfig, maintenanceWindow } from '../config/maintenance.js';
import { type Span, unionSpans } from './figures.js';
import { StoreError } from './store/open.js';
import type { Store } from './store/types.js';

const DAY = 86_400_000;
/** Cached days of cron starts before the cache is emptied: bounded whatever the windows asked. */
const MAX_CACHED_DAYS = 20_000;

/** A maintenance window from the config or the API (then kept in the store). */
export type MaintenanceWindow = MaintenanceConfig & {
  source: 'config' | 'api';
  /** When it was made through the API, and by whom (a free text from the request). */
  createdAt?: number | undefined;
  createdBy?: string | undefined;
};

/** The part of a component a window's scope is matched on. */
export interface MaintenanceSubject {
  name: string;
  tags: readonly string[];
}

/** What an alert silenced by a window carries in `silencedBy`. */
export const maintenanceSilence = (name: string) => `maintenance:${name}`;

/** True when `w` covers `component`: listed by name or by a tag, or every component when it lists neither. */
export function covers(w: Pick<MaintenanceConfig, 'components' | 'tags'>, component: MaintenanceSubject): boolean {
  if (w.components.length === 0 && w.tags.length === 0) return true;
  return w.components.includes(component.name) || w.tags.some((t) => component.tags.includes(t));
}

/**
 * The maintenance windows in force (the config's and the API's) and their occurrences: which
 * components are in maintenance at an instant, and which spans the availability figures leave
 * out. Cron occurrences are computed once per day and kept, so `/metrics` does not re-run cron.
 */
export class MaintenanceBook {
  #config: MaintenanceWindow[] = [];
  #stored: MaintenanceWindow[] = [];
  /** Cron starts by `pattern|timezone`, then by UTC day index. */
  readonly #starts = new Map<string, Map<number, number[]>>();
  #cachedDays = 0;

  constructor(config: readonly MaintenanceConfig[] = []) {
    this.setConfig(config);
  }

  /** Replaces the config's windows (a reload). */
  setConfig(config: readonly MaintenanceConfig[]): void {
    this.#config = config.map((w) => ({ ...w, source: 'config' as const }));
  }

  /** Replaces the API's windows (read from the store). */
  setStored(windows: readonly MaintenanceWindow[]): void {
    this.#stored = windows.map((w) => ({ ...w, source: 'api' as const }));
  }

  /** Every window, the config's first. */
  all(): readonly MaintenanceWindow[] {
    return this.#stored.length === 0 ? this.#config : [...this.#config, ...this.#stored];
  }

  /** The window named `name`, if any. */
  get(name: string): MaintenanceWindow | undefined {
    return this.all().find((w) => w.name === name);
  }

  /** Occurrences of `w` that overlap [from, to), clipped to its `start`/`end` bounds, sorted. */
  occurrences(w: MaintenanceConfig, from: number, to: number): Span[] {
    const lo = Math.max(from, w.start ?? Number.NEGATIVE_INFINITY);
    const hi = Math.min(to, w.end ?? Number.POSITIVE_INFINITY);
    if (hi <= lo) return [];
    if (w.cron === undefined) return [{ from: w.start as number, to: w.end as number }];
    const length = w.duration as number;
    const out: Span[] = [];
    for (let day = Math.floor((lo - length) / DAY); day * DAY < hi; day++) {
      for (const start of this.#cronStarts(w.cron, w.timezone, day)) {
        const span = { from: Math.max(start, w.start ?? start), to: Math.min(start + length, w.end ?? Number.POSITIVE_INFINITY) };
        if (span.to > lo && span.from < hi && span.to > span.from) out.push(span);
      }
    }
    return out;
  }

  /** The windows covering `component` with an occurrence in progress at `now`. */
  activeFor(component: MaintenanceSubject, now: number): MaintenanceWindow[] {
    if (this.#config.length === 0 && this.#stored.length === 0) return []; // every scrape asks, per component
    return this.all().filter((w) => covers(w, component) && this.occurrences(w, now, now + 1).length > 0);
  }

  /** The occurrence of `w` in progress at `now`, or else its next one; undefined when none is left. */
  current(w: MaintenanceConfig, now: number): Span | undefined {
    if (w.cron === undefined) return (w.end as number) > now ? { from: w.start as number, to: w.end as number } : undefined;
    // a year ahead is as far as anyone schedules; a pattern rarer than that shows no next occurrence
    return this.occurrences(w, now, now + 366 * DAY)[0];
  }

  /** The spans availability leaves out for `component` over [from, to): its `exclude` windows' occurrences, merged. */
  excluded(component: MaintenanceSubject, from: number, to: number): Span[] {
    if (this.#config.length === 0 && this.#stored.length === 0) return [];
    const spans: Span[] = [];
    for (const w of this.all()) if (w.availability === 'exclude' && covers(w, component)) spans.push(...this.occurrences(w, from, to));
    return unionSpans(spans);
  }

  /** Starts of `pattern`'s occurrences within UTC day `day`, computed once. */
  #cronStarts(pattern: string, timezone: string, day: number): number[] {
    const key = `${pattern}|${timezone}`;
    let days = this.#starts.get(key);
    if (days === undefined) {
      days = new Map();
      this.#starts.set(key, days);
    }
    const cached = days.get(day);
    if (cached !== undefined) return cached;
    if (this.#cachedDays >= MAX_CACHED_DAYS) {
      this.#starts.clear();
      this.#cachedDays = 0;
      return this.#cronStarts(pattern, timezone, day);
    }
    const cron = new Cron(pattern, { timezone, paused: true });
    const starts: number[] = [];
    const end = (day + 1) * DAY;
    // nextRun is strictly after its argument: start 1 ms before the day
    for (let next = cron.nextRun(new Date(day * DAY - 1)); next !== null && next.getTime() < end; next = cron.nextRun(next)) {
      starts.push(next.getTime());
    }
    days.set(day, starts);
    this.#cachedDays++;
    return starts;
  }
}

/** The API's windows as stored, read with the config's schema. */
export async function storedWindows(store: Pick<Store, 'maintenance'>): Promise<MaintenanceWindow[]> {
  const windows: MaintenanceWindow[] = [];
  for (const r of await store.maintenance()) {
    const parsed = maintenanceWindow.safeParse(r.spec);
    if (!parsed.success) throw new StoreError(`maintenance window ${r.name} no longer reads: ${parsed.error.issues[0]?.message}`);
    windows.push({ ...parsed.data, source: 'api', createdAt: r.createdAt, createdBy: r.createdBy });
  }
  return windows;
}
