import type { ComponentConfig, NinesConfig } from '../config/index.js';
import { type Clock, systemClock, type TimerHandle } from '../core/clock.js';
import { Events } from '../core/events.js';
import { CheckCounts } from './check-counts.js';
import { type Connectivity, ConnectivityGuard } from './connectivity.js';
import { FlapDetector } from './flapping.js';
import { History } from './history.js';
import { IncidentNotebook } from './incident-notebook.js';
import { gapBetween, type IncidentEvent, IncidentTracker } from './incidents.js';
import { MaintenanceBook, type MaintenanceWindow, storedWindows } from './maintenance.js';
import { type Confirmation, type LocationsVerdict, type Ownership, singleNode } from './ownership.js';
import { createProbe, type Probe, type ProbeResult } from './probe.js';
import { LONGEST_GAUGE_WINDOW, RunningFigures } from './running-figures.js';
import { Scheduler } from './scheduler.js';
import type { RowKind } from './store/split-write.js';
import type { ComponentState, MaintenanceRecord, Store, StoredLocations, WriteOutcome } from './store/types.js';
import { BURN_WINDOWS } from './store-figures.js';
import { WriteBuffer } from './write-buffer.js';

export type { DayFigures, SloFigures } from './history.js';

/** Options of {@link Monitor}. */
export interface MonitorOptions {
  config: NinesConfig;
  store: Store;
  /** Source of time. Default `systemClock`. */
  clock?: Clock;
  /** Which components this instance probes (the HA monitor's leases). Default: every one ({@link singleNode}). */
  ownership?: Ownership;
  /** Confirms each opening and resolution from other locations before it is applied (the HA quorum). Default: the checks here decide. */
  confirm?: Confirmation;
  /** Builds a component's probe. Default {@link createProbe}. */
  probe?: (component: ComponentConfig, clock: Clock) => Probe;
  /** ms between flushes of buffered results to the store (a crash loses at most this much). Default 1000. */
  flushInterval?: number;
  /** ms between rollup/retention passes. Default 60 000. */
  compactInterval?: number;
  /** Called when a flush, a compaction or a load of the figures' history fails; the monitor keeps running and retries. */
  onError?: (error: unknown, during: 'flush' | 'compact' | 'figures' | 'maintenance' | 'follow' | 'confirm') => void;
  /**
   * ms between reloads of the in-memory history behind {@link Monitor.runningFigures} from the
   * store, which correct any drift from it. Default 600 000.
   */
  figuresReloadInterval?: number;
  /**
   * Raw results held in memory while the store cannot be written (about 100 bytes each); past it
   * the oldest are dropped, so a long store outage cannot exhaust memory. Incidents, gaps and
   * component state are never dropped, so availability stays exact. Default 100 000.
   */
  maxBufferedChecks?: number;
}

/** Events a monitor emits. */
export interface MonitorEvents {
  result: ProbeResult;
  incidentOpened: { component: string; start: number };
  incidentResolved: { component: string; start: number; end: number };
  flapping: { component: string; flapping: boolean };
  /** A scheduled run started `lagMs` after it was due. */
  lag: { component: string; lagMs: number };
  /** Buffered raw results were dropped, oldest first, because the store has not taken them (see `maxBufferedChecks`). */
  dropped: { checks: number };
  /** The history behind {@link Monitor.runningFigures} was (re)loaded from the store for `components`. */
  figuresLoaded: { components: number };
  /** The database refused one row for its data (alone, after the batch was split): it is set aside, never retried. */
  rejected: { kind: RowKind; component: string; error: unknown };
  /** The connectivity guard changed its verdict (connectivity.ts): while suspect, failures are unobserved time. */
  connectivity: Connectivity & { at: number };
  /** A flush left rows out on purpose (HA): checks of a slot already stored, rows under a fence since taken over. */
  leftOut: WriteOutcome;
  /** A quorum round ended (HA): what the locations saw, and whether the opening or resolution it was asked for was applied. */
  locations: LocationsVerdict & { component: string; kind: 'open' | 'resolve'; applied: boolean };
}

/** What the monitor knows of a component right now. */
export interface ComponentStatus {
  name: string;
  critical: boolean;
  /**
   * Latest result's status; `unknown` before the first, and while its latest failure is unobserved
   * (the monitor's network is suspect); `partial` while it fails from fewer locations than the
   * quorum needs (HA): counted as degraded, not down.
   */
  status: 'healthy' | 'degraded' | 'partial' | 'unhealthy' | 'unknown';
  /** The latest quorum round's verdict while it holds (HA): `failing` of `of` locations. */
  locations?: { failing: string[]; of: number } | undefined;
  last: ProbeResult | undefined;
  /** Start of the open incident, if any. */
  incidentSince: number | undefined;
  /** First of the unbroken run of degraded (slow but passing) results the latest ends, if it is degraded. */
  degradedSince: number | undefined;
  /** That run began with this monitor's first result of the component, so it may have begun earlier (before a restart). */
  degradedFromStart: boolean;
  /** When the TLS certificate the check last saw expires (wall-clock ms), if it has seen one since the start. */
  certificateExpiresAt: number | undefined;
  /** Someone acknowledged the open incident: its alerts send no reminders. */
  acknowledged: boolean;
  flapping: boolean;
  /** Names of the maintenance windows in progress that cover it. */
  maintenance: string[];
}

interface Runtime {
  config: ComponentConfig;
  probe: Probe;
  tracker: IncidentTracker;
  flap: FlapDetector;
  flapping: boolean;
  firstCheckAt: number | undefined;
  lastCheckAt: number | undefined;
  last: ProbeResult | undefined;
  /** The latest result was a failure seen while the network was suspect: not evidence, so not recorded as such. */
  unobserved: boolean;
  /** Start of the latest run, observed or not: what a stuck schedule is told by. */
  lastRunAt: number | undefined;
  degradedSince: number | undefined;
  degradedFromStart: boolean;
  certificateExpiresAt: number | undefined;
  running: Promise<ProbeResult> | undefined;
  /** When this run of the monitor began checking it. */
  addedAt: number;
  /** A quorum round is in flight. */
  confirming: boolean;
  /** The latest round: what it was asked to confirm, and when it began (rounds are spaced by `Confirmation.every` while a verdict holds). */
  confirmed: { kind: 'open' | 'resolve'; at: number } | undefined;
  /** The latest round's verdict, while it holds: the component is partial, or its incident still down elsewhere. */
  locations: StoredLocations | undefined;
}

/**
 * The availability monitor: checks every component on its schedule, applies the incident rules,
 * records gaps in its own observation, and writes everything to the store in batches.
 */
export class Monitor extends Events<MonitorEvents> {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #makeProbe: (component: ComponentConfig, clock: Clock) => Probe;
  readonly #flushInterval: number;
  readonly #compactInterval: number;
  readonly #onError: MonitorOptions['onError'];
  readonly #figuresReloadInterval: number;
  readonly #running = new RunningFigures();
  readonly #checks = new CheckCounts();
  readonly #scheduler: Scheduler;
  readonly #ownership: Ownership;
  readonly #confirm: Confirmation | undefined;
  readonly #components = new Map<string, Runtime>();
  readonly #guard: ConnectivityGuard;
  readonly #buffer: WriteBuffer;
  /** The one read path into what this monitor stored: figures, bars, incidents, probes. */
  readonly history: History;
  /** Maintenance windows in force, the config's and the API's: they silence alerts and, by default, leave availability. */
  readonly maintenance: MaintenanceBook;
  /** Where people acknowledge incidents, add updates and link postmortems. */
  readonly notebook: IncidentNotebook;
  /** Components this instance has just gained, not checked until their state is read back from the store. */
  readonly #adopting = new Set<string>();
  #config: NinesConfig;
  #timers: TimerHandle[] = [];
  #started = false;

  constructor(options: MonitorOptions) {
    super();
    this.#config = options.config;
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#makeProbe = options.probe ?? ((c, clock) => createProbe(c, { clock }));
    this.#flushInterval = options.flushInterval ?? 1000;
    this.#compactInterval = options.compactInterval ?? 60_000;
    this.#onError = options.onError;
    this.#ownership = options.ownership ?? singleNode;
    this.#confirm = options.confirm;
    this.#buffer = new WriteBuffer({
      store: this.#store,
      owner: this.#ownership.instance,
      onLeftOut: (outcome) => this.emit('leftOut', outcome),
      maxBufferedChecks: options.maxBufferedChecks ?? 100_000,
      stateOf: (name) => this.#stateOf(name),
      onDropped: (checks) => this.emit('dropped', { checks }),
      onRejected: (row) => this.emit('rejected', row),
      onOutage: (error) => this.#onError?.(error, 'flush'),
    });
    this.#figuresReloadInterval = options.figuresReloadInterval ?? 600_000;
    this.maintenance = new MaintenanceBook(options.config.maintenance);
    this.#guard = new ConnectivityGuard(options.config.connectivity);
    this.history = new History({
      store: this.#store,
      clock: this.#clock,
      subject: (name) => {
        const rt = this.#components.get(name);
        if (rt === undefined) return undefined;
        const excluded = (from: number, to: number) => this.maintenance.excluded(rt.config, from, to);
        return { staleAfter: rt.config.interval + rt.config.timeout, times: rt, excluded };
      },
      flush: () => this.flush(),
      running: { figures: this.#running, checks: this.#checks, loadMissing: () => this.#loadMissing() },
    });
    this.notebook = new IncidentNotebook({ store: this.#store, clock: this.#clock, flush: () => this.flush() });
    this.#scheduler = new Scheduler({
      clock: this.#clock,
      ownership: { owns: (name) => this.checksHere(name) },
      onLag: (component, lagMs) => this.emit('lag', { component, lagMs }),
    });
  }

  /** The config in force. */
  get config(): NinesConfig {
    return this.#config;
  }

  /** Migrates the store, restores each component's state (open incidents included) and starts checking. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#store.migrate();
    const states = new Map((await this.#store.states()).map((s) => [s.component, s]));
    await this.#loadMaintenance();
    await this.notebook.restore();
    for (const component of this.#config.components) this.#add(component, states.get(component.name));
    this.#loop(() => this.flush(), this.#flushInterval);
    this.#loop(() => this.compact(), this.#compactInterval);
    this.#loop(() => this.#reloadFigures(), this.#figuresReloadInterval);
    await this.#loadFigures(this.#config.components.map((c) => c.name));
  }

  /**
   * Applies a new config (SIGHUP): added components start, removed ones stop, changed ones restart
   * with their incident state kept; history stays.
   */
  async reload(config: NinesConfig): Promise<void> {
    await this.flush();
    const next = new Set(config.components.map((c) => c.name));
    for (const name of this.#components.keys()) {
      if (!next.has(name)) {
        this.#scheduler.remove(name);
        this.#components.delete(name);
        this.#running.drop(name);
        this.#guard.remove(name);
        this.#checks.drop(name);
      }
    }
    const states = new Map((await this.#store.states()).map((s) => [s.component, s]));
    const changed: string[] = [];
    for (const component of config.components) {
      const old = this.#components.get(component.name);
      if (old && JSON.stringify(old.config) === JSON.stringify(component)) continue;
      this.#add(component, states.get(component.name));
      changed.push(component.name);
    }
    const horizon = this.#horizon();
    this.#config = config;
    this.maintenance.setConfig(config.maintenance);
    this.#guard.configure(config.connectivity);
    // a longer SLO window needs more history than is held
    await this.#loadFigures(this.#horizon() > horizon ? config.components.map((c) => c.name) : changed);
  }

  /**
   * Takes over components another instance checked until now (the HA monitor gained their leases):
   * none is checked until its state (open incident, last check) and its figures are read back from
   * the store, so the incident rules go on from where the previous owner left them. A store that
   * cannot be read keeps them waiting; {@link Monitor.follow} tries again.
   */
  adopt(names: readonly string[]): Promise<void> {
    for (const name of names) if (this.#components.has(name)) this.#adopting.add(name);
    // one read for every component gained in the same turn (a heartbeat gains many at once)
    this.#adoptRead ??= Promise.resolve().then(() => {
      this.#adoptRead = undefined;
      return this.#readAdopted();
    });
    return this.#adoptRead;
  }

  #adoptRead: Promise<void> | undefined;

  /**
   * Reads back from the store what other instances found for the components this one does not own
   * (state, open incident, latest result), so its page and API tell what theirs do; also retries
   * adoptions a failing store left waiting. With `figures`, their running figures are reloaded too
   * (their results reach this instance only through the store). Never rejects.
   */
  async follow(options: { figures?: boolean } = {}): Promise<void> {
    if (this.#adopting.size > 0) await this.#readAdopted();
    this.#scheduler.wake();
    let states: ComponentState[];
    try {
      states = await this.#store.states();
    } catch (error) {
      this.#onError?.(error, 'follow');
      return;
    }
    for (const state of states) {
      const rt = this.#components.get(state.component);
      if (rt === undefined || this.#ownership.owns(state.component) || this.#adopting.has(state.component)) continue;
      this.#restore(rt, state);
    }
    if (options.figures === true) {
      const others = [...this.#components.keys()].filter((n) => !this.#ownership.owns(n) && !this.#adopting.has(n));
      if (others.length > 0) await this.#loadFigures(others);
    }
  }

  async #readAdopted(): Promise<void> {
    const names = [...this.#adopting];
    if (names.length === 0) return;
    try {
      await this.flush(); // results this instance still holds of them (a lease that came back) go first
      const states = new Map((await this.#store.states()).map((s) => [s.component, s]));
      for (const name of names) {
        const rt = this.#components.get(name);
        if (rt !== undefined && rt.running === undefined) this.#restore(rt, states.get(name));
      }
      await this.#running.load(this.#store, names, this.#clock.now() - this.#horizon(), () => this.flush());
      for (const name of names) this.#adopting.delete(name);
      this.#scheduler.wake(); // parked while another instance held them: from their next slot on
    } catch (error) {
      this.#onError?.(error, 'follow');
    }
  }

  /** Replaces what this instance knows of `rt` with what the store holds. */
  #restore(rt: Runtime, state: ComponentState | undefined): void {
    rt.tracker = this.#tracker(rt.config, state);
    rt.locations = state?.locations;
    rt.firstCheckAt = state?.firstCheckAt;
    rt.lastCheckAt = state?.lastCheckAt;
    rt.unobserved = false;
    const last = state?.last;
    if (last !== undefined && last.time !== rt.last?.time) {
      rt.last = {
        name: rt.config.name,
        time: last.time,
        durationMs: last.durationMs,
        status: last.status,
        ...(last.error === undefined ? {} : { error: last.error }),
      };
      if (last.status !== 'degraded') rt.degradedSince = undefined;
      else rt.degradedSince ??= last.time;
    }
  }

  /** Whether the monitor trusts its own network now (the connectivity guard). */
  connectivity(): Connectivity {
    return this.#guard.state;
  }

  /** Adds or replaces a maintenance window made through the API: stored, then in force. */
  async putMaintenance(record: MaintenanceRecord): Promise<void> {
    await this.#store.putMaintenance(record);
    await this.#loadMaintenance(true);
  }

  /**
   * Cancels an API window: one that has not begun is deleted; one that has is ended at `now`, so
   * the time it already covered stays maintenance (past figures do not change). False when there is none.
   */
  async endMaintenance(name: string, now = this.#clock.now()): Promise<MaintenanceWindow | 'deleted' | undefined> {
    const record = (await this.#store.maintenance()).find((r) => r.name === name);
    const window = this.maintenance.get(name);
    if (record === undefined || window?.source !== 'api') return undefined;
    if ((window.start ?? Number.NEGATIVE_INFINITY) > now) {
      await this.#store.deleteMaintenance(name);
      await this.#loadMaintenance(true);
      return 'deleted';
    }
    await this.putMaintenance({ ...record, spec: { ...record.spec, end: new Date(Math.min(now, window.end ?? now)).toISOString() } });
    return this.maintenance.get(name);
  }

  /** Reads the API's maintenance windows from the store; `strict` rethrows a failure (the API waits on it). */
  async #loadMaintenance(strict = false): Promise<void> {
    try {
      const windows = await storedWindows(this.#store);
      this.maintenance.setStored(windows);
    } catch (error) {
      if (strict) throw error;
      this.#onError?.(error, 'maintenance');
    }
  }

  /** Stops checking, waits for runs in progress and flushes everything to the store. */
  async stop(): Promise<void> {
    this.#scheduler.stop();
    for (const t of this.#timers) t.clear();
    this.#timers = [];
    await Promise.all([...this.#components.values()].map((c) => c.running));
    await this.flush();
    this.#started = false;
  }

  /**
   * Runs one component's check now (joining a run already in progress) and records the result if
   * this instance checks the component when it ends (see {@link Monitor.checksHere}): a result of
   * a component another instance holds, or lost meanwhile, would overwrite that instance's state.
   */
  runNow(name: string): Promise<ProbeResult> | undefined {
    return this.#run(name, undefined);
  }

  /** {@link runNow} for the scheduler's `slot` (undefined on demand): the slot is stored with the result, once. */
  #run(name: string, slot: number | undefined): Promise<ProbeResult> | undefined {
    const rt = this.#components.get(name);
    if (rt === undefined) return undefined;
    // a lease lost and gained again during the check (another instance held it meanwhile) drops the result
    const fence = this.#ownership.fence?.(name);
    rt.running ??= rt
      .probe()
      .then((result) => {
        const here = this.#components.get(name) === rt && this.checksHere(name) && this.#ownership.fence?.(name) === fence;
        if (here) this.#record(rt, result, slot, fence);
        return result;
      })
      .finally(() => {
        rt.running = undefined;
      });
    return rt.running;
  }

  /** Runs `name`'s check once for another location's quorum round, recording nothing; undefined for an unknown component. */
  probeOnce(name: string): Promise<ProbeResult> | undefined {
    return this.#components.get(name)?.probe();
  }

  /** True when this instance checks `name` and records its results: always on one node; with HA, while it holds the lease and has read the component back. */
  checksHere(name: string): boolean {
    return this.#ownership.owns(name) && !this.#adopting.has(name);
  }

  /** Every component's current status, critical ones first. */
  status(): ComponentStatus[] {
    const now = this.#clock.now();
    return [...this.#components.values()]
      .map((rt) => ({
        name: rt.config.name,
        critical: rt.config.critical,
        status: rt.unobserved ? ('unknown' as const) : partial(rt) ? ('partial' as const) : (rt.last?.status ?? ('unknown' as const)),
        locations: rt.locations === undefined ? undefined : { failing: rt.locations.failing, of: rt.locations.of },
        last: rt.last,
        incidentSince: rt.tracker.openSince,
        degradedSince: rt.degradedSince,
        degradedFromStart: rt.degradedFromStart,
        certificateExpiresAt: rt.certificateExpiresAt,
        acknowledged: this.notebook.acknowledged(rt.config.name, rt.tracker.openSince),
        flapping: rt.flapping,
        maintenance: this.maintenance.activeFor(rt.config, now).map((w) => w.name),
      }))
      .sort((a, b) => Number(b.critical) - Number(a.critical));
  }

  /**
   * Components with no result for three intervals plus a timeout while the monitor runs: a stuck
   * schedule (a check that ignores its timeout, a blocked loop), which a restart mends. Only the
   * components this instance owns count: another instance probes the rest.
   */
  overdue(): string[] {
    if (!this.#started) return [];
    const now = this.#clock.now();
    return [...this.#components.values()]
      .filter((rt) => this.#ownership.owns(rt.config.name))
      .filter((rt) => now - Math.max(rt.lastRunAt ?? rt.lastCheckAt ?? 0, rt.addedAt) > 3 * rt.config.interval + rt.config.timeout)
      .map((rt) => rt.config.name);
  }

  /** Loads the history of components whose running figures are not in memory yet (the store was down); never rejects. */
  async #loadMissing(): Promise<void> {
    const missing = [...this.#components.keys()].filter((name) => !this.#running.loaded(name));
    if (missing.length > 0) await this.#loadFigures(missing);
  }

  /**
   * Writes buffered results; while the store cannot be reached they stay buffered for the next try.
   * Rows the database refuses for their data are set aside (event `rejected`), never retried.
   * Resolves once everything recorded before the call was tried: a flush already in flight took
   * its batch earlier, so callers meanwhile share one more after it.
   */
  flush(): Promise<void> {
    return this.#buffer.flush();
  }

  /** Rolls up and prunes the store by `retention`; minutes with checks not yet written stay open. */
  async compact(): Promise<void> {
    const now = this.#clock.now();
    // Runs in flight started at most one timeout ago; buffered checks (a failing store) may be older.
    const holdFrom = this.#buffer.oldestUnwritten(
      now - Math.max(0, ...this.#config.components.map((c) => c.timeout)) - this.#flushInterval,
    );
    try {
      await this.#store.compact(now, this.#config.retention, holdFrom);
    } catch (error) {
      this.#onError?.(error, 'compact');
    }
  }

  /** How far back the running figures reach: the longest gauge, SLO or burn-rate window. */
  #horizon(): number {
    return Math.max(LONGEST_GAUGE_WINDOW, ...Object.values(BURN_WINDOWS), ...this.#config.slos.map((s) => s.window));
  }

  async #loadFigures(names: readonly string[]): Promise<void> {
    try {
      await this.#running.load(this.#store, names, this.#clock.now() - this.#horizon(), () => this.flush());
      this.emit('figuresLoaded', { components: names.length });
    } catch (error) {
      this.#onError?.(error, 'figures');
    }
  }

  /** The scheduled correction: drops what slid out of every window, then reloads everything from the store. */
  async #reloadFigures(): Promise<void> {
    this.#running.prune(this.#clock.now() - this.#horizon());
    await this.#loadMaintenance();
    await this.#loadFigures([...this.#components.keys()]);
  }

  #stateOf(name: string): ComponentState | undefined {
    const rt = this.#components.get(name);
    if (rt?.firstCheckAt === undefined || rt.lastCheckAt === undefined) return undefined;
    const state = { component: name, firstCheckAt: rt.firstCheckAt, lastCheckAt: rt.lastCheckAt, tracker: rt.tracker.state };
    return rt.locations === undefined ? state : { ...state, locations: rt.locations };
  }

  /** A component's incident rules; with a quorum, its openings and resolutions wait for the other locations. */
  #tracker(component: ComponentConfig, state: ComponentState | undefined): IncidentTracker {
    return new IncidentTracker({ ...component, confirm: this.#confirm !== undefined }, state?.tracker);
  }

  #add(component: ComponentConfig, state: ComponentState | undefined): void {
    const rt: Runtime = {
      config: component,
      probe: this.#makeProbe(component, this.#clock),
      tracker: this.#tracker(component, state),
      flap: new FlapDetector({ threshold: component.flapThreshold, window: component.flapWindow }),
      flapping: false,
      firstCheckAt: state?.firstCheckAt,
      lastCheckAt: state?.lastCheckAt,
      last: undefined,
      unobserved: false,
      lastRunAt: undefined,
      degradedSince: undefined,
      degradedFromStart: false,
      certificateExpiresAt: undefined,
      running: undefined,
      addedAt: this.#clock.now(),
      confirming: false,
      confirmed: undefined,
      locations: state?.locations,
    };
    this.#components.set(component.name, rt);
    this.#guard.add(component);
    this.#scheduler.add(component.name, component.interval, async (slot) => this.#run(component.name, slot));
  }

  /** Records `r` (run for the grid's `scheduledAt`, if scheduled) under `fence`: the store drops it if the lease moved on before it is written. */
  #record(rt: Runtime, r: ProbeResult, scheduledAt: number | undefined, fence: number | undefined): void {
    const name = rt.config.name;
    const failed = r.status === 'unhealthy';
    const stored = { component: name, time: r.time, durationMs: Math.round(r.durationMs), status: r.status, error: r.error, scheduledAt };
    rt.lastRunAt = r.time;
    // a timeout the monitor's own stall caused says nothing of the target, nor of the network
    const verdict = r.stalledMs === undefined ? this.#guard.observe(name, failed, r.time) : undefined;
    if (verdict?.changed) this.emit('connectivity', { ...verdict.state, at: r.time });
    const suspect = failed && verdict?.state.suspect === true && !rt.config.canary;
    if (r.stalledMs !== undefined || suspect) {
      // Not evidence against the target: no check time (the silence becomes a gap), no incident
      // count, no flap; the raw result is kept, its error saying why it counted for nothing. A stall
      // leaves the status as it was (one late timer must not turn readiness), a suspect network unknown.
      if (suspect) rt.unobserved = true;
      const why = suspect ? "the monitor's own network is suspect" : 'the monitor was stalled';
      this.#buffer.check({ ...stored, error: `${r.error ?? 'failed'} (unobserved: ${why})` }, fence);
      return;
    }
    rt.unobserved = false;
    if (rt.lastCheckAt !== undefined) {
      const gap = gapBetween(rt.lastCheckAt, r.time, rt.config.interval + rt.config.timeout);
      if (gap) {
        this.#buffer.gap(name, gap, fence);
        this.#running.gap(name, gap);
      }
    }
    rt.firstCheckAt ??= r.time;
    rt.lastCheckAt = r.time;
    if (r.status !== 'degraded') rt.degradedSince = undefined;
    else if (rt.degradedSince === undefined) {
      rt.degradedSince = r.time;
      rt.degradedFromStart = rt.last === undefined;
    }
    rt.certificateExpiresAt = r.certificateExpiresAt ?? rt.certificateExpiresAt;
    rt.last = r;
    this.#checks.record(name, r.time, failed);
    this.#buffer.check(stored, fence);
    this.emit('result', r);
    this.#apply(rt, rt.tracker.observe({ time: r.time, failed }), r.error, fence);
    if (rt.tracker.pending !== undefined) this.#ask(rt, fence);
    else if (rt.locations !== undefined && !failed && rt.tracker.openSince === undefined) rt.locations = undefined; // partial no more
    const flapping = rt.flap.observe(r.time, failed);
    if (flapping !== rt.flapping) {
      rt.flapping = flapping;
      this.emit('flapping', { component: name, flapping });
    }
  }

  /** Buffers and announces an incident the rules opened or resolved. */
  #apply(rt: Runtime, event: IncidentEvent, error: string | undefined, fence: number | undefined): void {
    const name = rt.config.name;
    if (event?.type === 'opened') {
      this.#buffer.opened(name, event.start, error, fence);
      this.#running.opened(name, event.start);
      this.emit('incidentOpened', { component: name, start: event.start });
    } else if (event?.type === 'resolved') {
      this.#buffer.resolved(name, event.start, event.end, fence);
      this.#running.resolved(name, event.start, event.end);
      this.emit('incidentResolved', { component: name, start: event.start, end: event.end });
    }
  }

  /**
   * Asks the other locations about the change the rules hold pending (a quorum round), unless one
   * is in flight or, while the last verdict holds, one began less than `every` ago. The verdict
   * applies only if this instance still checks the component under the same fence.
   */
  #ask(rt: Runtime, fence: number | undefined): void {
    const confirmation = this.#confirm;
    const pending = rt.tracker.pending;
    if (confirmation === undefined || pending === undefined || rt.confirming) return;
    const now = this.#clock.now();
    // a verdict that held this same change back stands for `every`
    const held = rt.locations !== undefined && rt.confirmed?.kind === pending.type;
    if (held && rt.confirmed !== undefined && now - rt.confirmed.at < confirmation.every) return;
    rt.confirming = true;
    rt.confirmed = { kind: pending.type, at: now };
    const name = rt.config.name;
    const own = pending.type === 'open' ? { failed: true, error: rt.last?.error } : { failed: false };
    void confirmation
      .confirm(name, own, pending.type)
      .then((verdict) => {
        rt.confirming = false;
        if (this.#components.get(name) !== rt || !this.checksHere(name) || this.#ownership.fence?.(name) !== fence) return;
        const wanted = pending.type === 'open' ? verdict.down : !verdict.down;
        const event = wanted ? rt.tracker.confirm(pending.type) : undefined;
        this.#apply(rt, event, rt.last?.error, fence);
        rt.locations = event?.type === 'resolved' ? undefined : { ...verdict, at: this.#clock.now() };
        this.#buffer.state(name, fence);
        this.emit('locations', { component: name, kind: pending.type, applied: event !== undefined, ...verdict });
      })
      .catch((error: unknown) => {
        rt.confirming = false;
        this.#onError?.(error, 'confirm');
      });
  }

  #loop(task: () => Promise<void>, every: number): void {
    let current: TimerHandle | undefined;
    const arm = () => {
      current = this.#clock.setTimeout(() => {
        void task().finally(() => {
          if (this.#started) arm();
        });
      }, every);
      current.unref(); // the scheduler's checks keep the process alive, not the housekeeping
    };
    arm();
    this.#timers.push({ clear: () => current?.clear(), ref: () => current?.ref(), unref: () => current?.unref() });
  }
}

/** Failing here, with no incident, because the latest round found fewer failing locations than the quorum needs. */
function partial(rt: Runtime): boolean {
  const l = rt.locations;
  return l !== undefined && !l.down && l.failing.length > 0 && rt.tracker.openSince === undefined && rt.last?.status === 'unhealthy';
}
