import pg from 'pg';
import type { Registry } from 'prom-client';
import type { HaConfig } from '../../config/index.js';
import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { METRICS, metric } from '../../metrics/index.js';
import type { Confirmation, LocationsVerdict, Ownership, Vote } from '../ownership.js';
import type { WriteOutcome } from '../store/types.js';
import { LeaseManager } from './leases.js';
import { Quorum } from './quorum.js';

/** A job one instance of the cluster runs at a time (alert evaluation, scheduled backups): held as a lease like a component. */
export interface SingletonJob {
  /** Its lease's name, outside the component names (which cannot contain `:`). */
  name: string;
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** What {@link ServedHa} needs of the monitor. */
export interface HaMonitor {
  readonly config: { readonly components: ReadonlyArray<{ name: string }> };
  adopt(names: readonly string[]): Promise<void>;
  follow(options?: { figures?: boolean }): Promise<void>;
  /** Writes buffered results: before a moved lease is released, so the next owner reads them. */
  flush(): Promise<void>;
  /** Waits for checks in progress and writes everything: before stop() releases the leases. */
  stop(): Promise<void>;
  /** What its flushes left out: counted as duplicates and stale writes. */
  on(event: 'leftOut', listener: (outcome: WriteOutcome) => void): unknown;
  /** Quorum rounds that ended: counted by kind and outcome. */
  on(event: 'locations', listener: (e: LocationsVerdict & { kind: 'open' | 'resolve'; applied: boolean }) => void): unknown;
  /** Runs a component's check once, recording nothing: this instance's vote in another location's round. */
  probeOnce(name: string): Promise<{ status: string; error?: string | undefined }> | undefined;
}

/** Options of {@link openServedHa}. */
export interface ServedHaOptions {
  ha: HaConfig;
  /** The components to share, and the names of the singleton jobs {@link ServedHa.start} will be given. */
  components: readonly string[];
  jobs?: readonly string[];
  /** The store's PostgreSQL URL and schema: the leases live beside the results. */
  url: string;
  /** Inserts `key` as a unique row (the store's notices): true if it was not there. Announcements are claimed through it. */
  claimNotice: (key: string, at: number) => Promise<boolean>;
  schema?: string;
  registry: Registry;
  clock?: Clock;
  /** A heartbeat, the listening connection or a follow failed; the next one tries again. */
  onError: (error: Error) => void;
  /** Lease changes and readiness, for the log. */
  onChange?: (event: { kind: 'gained' | 'lost' | 'ready'; component?: string; reason?: string; ready?: boolean }) => void;
}

/** Longest stop() waits for checks in progress before it releases the leases anyway. */
const STOP_SETTLE_MS = 3_000;

/** Figures of other instances' components are reloaded this often (their results reach this one only through the store). */
const FIGURES_EVERY_MS = 30_000;

/**
 * `nines serve`'s side of the HA monitor: a {@link LeaseManager} on a pool of its own sharing the
 * components, the monitor adopting what it gains and following the rest, singleton jobs started on
 * the one instance that holds their lease, and the `nines_ha_*` metrics.
 */
export class ServedHa implements Ownership {
  readonly leases: LeaseManager;
  /** Present with `ha.quorum`: openings and resolutions are confirmed from the other locations. */
  readonly quorum: Quorum | undefined;
  readonly #pool: pg.Pool;
  readonly #clock: Clock;
  readonly #onError: (error: Error) => void;
  readonly #jobs = new Map<string, SingletonJob>();
  readonly #jobNames: readonly string[];
  readonly #running = new Set<string>();
  readonly #leftOut: (outcome: WriteOutcome) => void;
  readonly #claims: { labels(outcome: string): { inc(): void } };
  readonly #claimNotice: (key: string, at: number) => Promise<boolean>;
  readonly #rounds: (e: { kind: string; applied: boolean }) => void;
  readonly #confirmTimeout: number | undefined;
  #monitor: HaMonitor | undefined;
  #follow: TimerHandle | undefined;
  #lastFigures = 0;
  #stopped = false;

  private constructor(options: ServedHaOptions, pool: pg.Pool, leases: LeaseManager) {
    this.#pool = pool;
    this.leases = leases;
    const { quorum } = options.ha;
    this.#confirmTimeout = quorum?.confirmTimeout;
    this.quorum =
      quorum === undefined
        ? undefined
        : new Quorum({
            pool,
            schema: options.schema,
            instance: options.ha.instance,
            location: options.ha.location,
            k: quorum.k,
            confirmTimeout: quorum.confirmTimeout,
            whenInsufficient: quorum.whenInsufficient,
            clock: options.clock,
            probe: (component) => this.#vote(component),
            onError: (error) => options.onError(error),
          });
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError;
    this.#jobNames = options.jobs ?? [];
    const { registry } = options;
    const ready = metric(registry, 'gauge', METRICS.haReady, '1 while this instance renews its leases in time (it checks only then)', []);
    const owned = metric(registry, 'gauge', METRICS.haOwnedComponents, 'Components this instance holds the lease of and checks', []);
    const live = metric(
      registry,
      'gauge',
      METRICS.haLiveInstances,
      'Instances whose row was live at the latest heartbeat, this one included',
      [],
    );
    const changes = metric(registry, 'counter', METRICS.haLeaseChangesTotal, 'Leases gained and lost by this instance, by reason', [
      'event',
      'reason',
    ]);
    const errors = metric(
      registry,
      'counter',
      METRICS.haErrorsTotal,
      'Heartbeats, listens and store reads of the HA monitor that failed',
      [],
    );
    const duplicates = metric(
      registry,
      'counter',
      METRICS.haDuplicateChecksTotal,
      'Checks not stored because another instance had stored their slot (must stay 0)',
      [],
    );
    const stale = metric(
      registry,
      'counter',
      METRICS.haStaleWritesTotal,
      'Rows not stored because their lease had been taken over since they were recorded',
      [],
    );
    this.#claims = metric(
      registry,
      'counter',
      METRICS.haNotificationsClaimedTotal,
      'Announcements claimed before sending, by outcome: sent here, or already sent by another instance',
      ['outcome'],
    );
    this.#claimNotice = options.claimNotice;
    const rounds = metric(
      registry,
      'counter',
      METRICS.haQuorumRoundsTotal,
      'Quorum rounds this instance asked for, by kind (open, resolve) and outcome (applied, or held: partial, or still down elsewhere)',
      ['kind', 'outcome'],
    );
    for (const kind of ['open', 'resolve']) for (const outcome of ['applied', 'held']) rounds.labels(kind, outcome).inc(0);
    this.#rounds = (e) => rounds.labels(e.kind, e.applied ? 'applied' : 'held').inc();
    for (const outcome of ['sent', 'duplicate']) this.#claims.labels(outcome);
    ready.set(0);
    owned.set(0);
    errors.inc(0);
    duplicates.inc(0);
    stale.inc(0);
    this.#leftOut = (outcome) => {
      duplicates.inc(outcome.duplicates);
      stale.inc(outcome.stale);
    };
    leases.on('ready', (r) => {
      ready.set(r ? 1 : 0);
      options.onChange?.({ kind: 'ready', ready: r });
    });
    leases.on('heartbeat', (h) => {
      owned.set(this.ownedComponents());
      live.set(h.live.length);
      void this.#afterHeartbeat();
    });
    leases.on('gained', (e) => {
      changes.labels('gained', 'claimed').inc();
      options.onChange?.({ kind: 'gained', component: e.component });
      const job = this.#jobs.get(e.component);
      if (job !== undefined) this.#startJob(job);
      else if (!this.#jobNames.includes(e.component)) void this.#monitor?.adopt([e.component]);
    });
    leases.on('lost', (e) => {
      changes.labels('lost', e.reason).inc();
      options.onChange?.({ kind: 'lost', component: e.component, reason: e.reason });
      const job = this.#jobs.get(e.component);
      if (job !== undefined) this.#stopJob(job);
    });
    leases.on('error', (error) => {
      errors.inc();
      this.#onError(error);
    });
  }

  /** Opens the pool and the lease manager; nothing is held until {@link ServedHa.start}. */
  static open(options: ServedHaOptions): ServedHa {
    // one listens for the leases, one for the quorum, one heartbeats, the rest for rounds and stop() during a heartbeat
    const pool = new pg.Pool({ connectionString: options.url, max: options.ha.quorum === undefined ? 3 : 6 });
    pool.on('error', () => undefined); // an idle client lost: the next heartbeat reconnects
    const { ha } = options;
    const leases = new LeaseManager({
      pool,
      schema: options.schema,
      instance: ha.instance,
      location: ha.location,
      components: [...options.components, ...(options.jobs ?? [])],
      heartbeat: ha.heartbeat,
      leaseTtl: ha.leaseTtl,
      renewDeadline: ha.renewDeadline,
      clock: options.clock,
      beforeRelease: () => (served === undefined ? Promise.resolve() : served.#settle()),
    });
    const served: ServedHa = new ServedHa(options, pool, leases);
    return served;
  }

  /** The monitor's side of the quorum (MonitorOptions.confirm); undefined without `ha.quorum`. */
  get confirmation(): Confirmation | undefined {
    const quorum = this.quorum;
    const every = this.#confirmTimeout;
    if (quorum === undefined || every === undefined) return undefined;
    // while a verdict holds, a component is asked about again once per confirmTimeout
    return { confirm: (component, own, kind) => quorum.confirm(component, own, kind), every };
  }

  /** True while this instance holds `component`'s lease in time. */
  owns(component: string): boolean {
    return this.leases.owns(component);
  }

  /** The fencing number of `component` while it is held here: the store writes its rows only while it is current. */
  fence(component: string): number | undefined {
    return this.leases.fence(component);
  }

  /**
   * Claims the announcement `key` before it is sent: true once in the whole cluster (a unique row
   * inserted first), false for every other instance that tries, so a takeover never pages twice.
   */
  readonly claim = async (key: string, at: number): Promise<boolean> => {
    const mine = await this.#claimNotice(key, at);
    this.#claims.labels(mine ? 'sent' : 'duplicate').inc();
    return mine;
  };

  /** This instance's name: the owner the fences are held by. */
  get instance(): string {
    return this.leases.instance;
  }

  /** True while the leases are renewed in time: readiness. */
  get ready(): boolean {
    return this.leases.ready;
  }

  /** Components (not singleton jobs) held now. */
  ownedComponents(): number {
    let n = 0;
    for (const c of this.#monitor?.config.components ?? []) if (this.leases.owns(c.name)) n++;
    return n;
  }

  /** Shares `monitor`'s components and `jobs` (named at {@link ServedHa.open}) among the instances, and starts heartbeating. */
  async start(monitor: HaMonitor, jobs: readonly SingletonJob[] = []): Promise<void> {
    this.#monitor = monitor;
    monitor.on('leftOut', this.#leftOut);
    monitor.on('locations', this.#rounds);
    for (const job of jobs) this.#jobs.set(job.name, job);
    await this.leases.start();
    await this.quorum?.start();
  }

  /** After a config reload: the new component list is shared out at the next heartbeat. */
  reload(): void {
    this.#setComponents();
  }

  /** Releases every lease (peers take over at once) and ends the pool; singleton jobs stop first. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#follow?.clear();
    for (const name of [...this.#running]) {
      const job = this.#jobs.get(name);
      if (job !== undefined) await this.#stopJob(job);
    }
    try {
      await this.quorum?.stop();
      await this.leases.stop();
    } finally {
      await this.#pool.end();
    }
  }

  /** This location's vote in another's round: the component's check run once here. */
  #vote(component: string): Promise<Vote> | undefined {
    return this.#monitor?.probeOnce(component)?.then((r) => ({ failed: r.status === 'unhealthy', error: r.error }));
  }

  /**
   * Before leases are released: a move writes what is buffered; stop() waits for checks in progress
   * too, but at most {@link STOP_SETTLE_MS}, so the release fits in the shutdown hook's 5 s.
   */
  #settle(): Promise<void> {
    if (this.#monitor === undefined) return Promise.resolve();
    if (!this.#stopped) return this.#monitor.flush();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_SETTLE_MS);
    });
    return Promise.race([this.#monitor.stop(), bound]).finally(() => clearTimeout(timer));
  }

  #setComponents(): void {
    const names = (this.#monitor?.config.components ?? []).map((c) => c.name);
    this.leases.setComponents([...names, ...this.#jobNames]);
  }

  /** The other instances' components, read back after each heartbeat; their figures less often. */
  async #afterHeartbeat(): Promise<void> {
    if (this.#stopped || this.#monitor === undefined) return;
    const now = this.#clock.now();
    const figures = now - this.#lastFigures >= FIGURES_EVERY_MS;
    if (figures) this.#lastFigures = now;
    await this.#monitor.follow({ figures });
  }

  #startJob(job: SingletonJob): void {
    if (this.#running.has(job.name) || this.#stopped) return;
    this.#running.add(job.name);
    Promise.resolve()
      .then(() => job.start())
      .catch((error: unknown) => this.#onError(error as Error));
  }

  async #stopJob(job: SingletonJob): Promise<void> {
    if (!this.#running.delete(job.name)) return;
    try {
      await job.stop();
    } catch (error) {
      this.#onError(error as Error);
    }
  }
}
