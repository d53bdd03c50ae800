import { type Clock, systemClock, type TimerHandle } from '../../core/clock.js';
import { InvalidOptionError } from '../../core/errors.js';
import { Events, type Unsubscribe } from '../../core/events.js';
import { checkString } from '../../core/validate.js';
import type { HealthCheckRegistry } from '../../health/registry.js';
import type { CircuitBreaker, CircuitState } from '../../policy/circuit-breaker.js';
import { type DegradationLevel, levelRank } from './levels.js';
import type { DegradationMetrics, ManagerMetrics } from './metrics-sink.js';
import { type CompiledRule, compileRules, type DegradationRule, matchReason, type RuleInputs, worstMatch } from './rules.js';

/** What the manager reads of a health registry: a `HealthCheckRegistry` fits. */
export type HealthSource = Pick<HealthCheckRegistry, 'on' | 'report'>;

/** Breakers by name: a `CircuitBreakerRegistry` or a `Map` fits; or a list of breakers, known by their `name`. */
export type BreakerSource = { get(name: string): CircuitBreaker | undefined } | Iterable<CircuitBreaker>;

/** Options of {@link DegradationManager}. */
export interface DegradationManagerOptions {
  /** Conditions over the health registry and breakers, each with the level it sets; the worst match wins. Default none. */
  rules?: readonly DegradationRule[];
  /** The health registry the check and health rules read; the level follows each of its results. */
  health?: HealthSource;
  /** Where breaker rules find their breakers; each must exist when the manager is made. */
  breakers?: BreakerSource;
  /** Source of time. Default `systemClock`. */
  clock?: Clock;
  /** Metrics sink (`degradationMetrics(registry)` from `nines/metrics`). Default none. */
  metrics?: DegradationMetrics;
}

/** Where the level comes from: the rules, or a manual override. */
export type LevelSource = 'rules' | 'manual';

/** The level in force, JSON-serialisable (what `/health` shows). */
export interface DegradationState {
  level: DegradationLevel;
  reason: string;
  source: LevelSource;
  /** Wall-clock ms since the level has been in force. */
  since: number;
  /** The rule that sets the level, when the rules set it and one matches. */
  rule?: string;
  /** Who set the override, when manual. */
  by?: string;
  /** Wall-clock ms the override lapses, when it does. */
  until?: number;
}

/** One change of level or reason, JSON-serialisable: the audit record a store persists. */
export interface DegradationChange {
  /** Wall-clock ms of the change. */
  at: number;
  /** Who: the override's author, or `rules`. */
  by: string;
  from: DegradationLevel;
  to: DegradationLevel;
  reason: string;
  /** What made the change: the rules, `set`/`clear`, or an override lapsing at its `until`. */
  source: LevelSource | 'expiry';
  /** The rule that sets the new level, when the rules set it and one matches. */
  rule?: string;
  /** When a new override lapses, if it does. */
  until?: number;
}

/** Events a manager emits. */
export interface DegradationEvents {
  change: DegradationChange;
}

/** Who sets an override and why; both are recorded. */
export interface OverrideOptions {
  /** Who sets it (a user, a token's name). */
  by: string;
  /** Why. */
  reason: string;
  /** Wall-clock ms at which the override lapses and the rules apply again. Default: until cleared. */
  until?: number;
}

interface Override {
  level: DegradationLevel;
  by: string;
  reason: string;
  until: number | undefined;
  timer: TimerHandle | undefined;
}

interface Ruled {
  level: DegradationLevel;
  reason: string;
  rule: string | undefined;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

const ALL_CLEAR: Ruled = { level: 'full', reason: 'no rule matches', rule: undefined };

/**
 * The service's degradation level: `full`, `degraded`, `minimal` or `maintenance`, set by rules over
 * the health registry and circuit breakers (re-evaluated on each health result and breaker state
 * change, so it has no timer of its own) or by a manual override, which wins while set. Features
 * ask {@link DegradationManager.feature} or {@link DegradationManager.isAtLeast} and switch off below
 * their minimum.
 */
export class DegradationManager {
  readonly #rules: CompiledRule[];
  readonly #clock: Clock;
  readonly #metrics: ManagerMetrics | undefined;
  readonly #events = new Events<DegradationEvents>();
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #breakerTimers = new Map<string, TimerHandle>();
  readonly #unsubscribe: Unsubscribe[] = [];
  readonly #inputs: RuleInputs;
  /** Takes a fresh health report before rules are matched (nothing to do without health rules). */
  readonly #refresh: () => void;
  #ruled: Ruled = ALL_CLEAR;
  #override: Override | undefined;
  #level: DegradationLevel = 'full';
  #rank = 0;
  #reason = ALL_CLEAR.reason;
  #since: number;
  #evaluating = false;
  #again = false;

  /** Validates the rules (an InvalidOptionError names the bad one), subscribes to their sources and takes the level they give now. */
  constructor(options: DegradationManagerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#rules = compileRules(options.rules ?? []);
    const health = options.health;
    if (health !== undefined && (typeof health.on !== 'function' || typeof health.report !== 'function')) {
      throw new InvalidOptionError('health must be a health registry (anything with on and report)');
    }
    this.#rules.forEach((rule, i) => {
      if (rule.kind === 'breaker') this.#breakers.set(rule.target as string, findBreaker(options.breakers, rule.target as string, i));
      else if (health === undefined) throw new InvalidOptionError(`rules[${i}].when reads health checks: the health option is missing`);
    });
    let report: ReturnType<HealthSource['report']> | undefined;
    this.#inputs = {
      check: (name) => report?.checks.find((c) => c.name === name)?.status,
      overall: () => report?.status,
      breaker: (name) => (this.#breakers.get(name) as CircuitBreaker).state,
    };
    const readHealth = health !== undefined && this.#rules.some((r) => r.kind !== 'breaker');
    this.#refresh = () => {
      report = readHealth ? health.report() : undefined;
    };
    this.#since = this.#clock.now();
    this.#metrics = options.metrics?.manager(['none', 'manual', ...this.#rules.map((r) => r.name)]);
    if (readHealth) {
      const evaluate = () => this.#evaluate();
      this.#unsubscribe.push(health.on('result', evaluate), health.on('statusChange', evaluate));
    }
    for (const [name, breaker] of this.#breakers) {
      this.#unsubscribe.push(breaker.on('stateChange', ({ to }) => this.#onBreaker(name, to)));
      this.#onBreaker(name, breaker.state);
    }
    this.#evaluate();
    this.#metrics?.state(this.#level, this.#metricReason());
  }

  /** The level in force. */
  get level(): DegradationLevel {
    return this.#level;
  }

  /** Why the level is what it is: the matching rule's reason, the override's, or `no rule matches`. */
  get reason(): string {
    return this.#reason;
  }

  /** Whether the rules or a manual override set the level. */
  get source(): LevelSource {
    return this.#override === undefined ? 'rules' : 'manual';
  }

  /** Wall-clock ms since the level has been in force. */
  get since(): number {
    return this.#since;
  }

  /** What the rules give, override or not: the level in force once an override is cleared. */
  get ruled(): { level: DegradationLevel; reason: string; rule?: string } {
    const { level, reason, rule } = this.#ruled;
    return rule === undefined ? { level, reason } : { level, reason, rule };
  }

  /** The level as a function, for evaluators that take `() => level` (the flags' minimum level). */
  readonly current = (): DegradationLevel => this.#level;

  /** True when the level is `level` or better (`isAtLeast('degraded')` holds at `full` and `degraded`). */
  isAtLeast(level: DegradationLevel): boolean {
    return this.#rank <= levelRank('level', level);
  }

  /** A gate for a feature that needs `minLevel` or better: call it to know whether the feature is on now; it does no I/O. */
  feature(minLevel: DegradationLevel): () => boolean {
    const rank = levelRank('minLevel', minLevel);
    return () => this.#rank <= rank;
  }

  /** The level in force and where it comes from, for `/health` and APIs. */
  state(): DegradationState {
    const s: DegradationState = { level: this.#level, reason: this.#reason, source: this.source, since: this.#since };
    const o = this.#override;
    if (o === undefined) {
      if (this.#ruled.rule !== undefined) s.rule = this.#ruled.rule;
    } else {
      s.by = o.by;
      if (o.until !== undefined) s.until = o.until;
    }
    return s;
  }

  /** Subscribes to `change`: one audit record per change of level or reason, and per `set`/`clear`. */
  on<K extends keyof DegradationEvents>(event: K, listener: (e: DegradationEvents[K]) => void): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /** Overrides the rules with `level` until {@link clear} or `until`; recorded with `by` and `reason`. */
  set(level: DegradationLevel, options: OverrideOptions): void {
    levelRank('level', level);
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options must be an object with by and reason');
    const by = checkString('by', options.by);
    const reason = checkString('reason', options.reason);
    const until = options.until;
    if (until !== undefined && (typeof until !== 'number' || !(until > this.#clock.now()))) {
      throw new InvalidOptionError(`until must be a wall-clock time in ms later than now, got ${String(until)}`);
    }
    this.#override?.timer?.clear();
    const override: Override = { level, by, reason, until, timer: undefined };
    this.#override = override;
    this.#armExpiry(override);
    this.#publish('manual', by, true);
  }

  /** Lifts the override, so the rules apply again; false when there was none. `by` defaults to the override's author. */
  clear(options: { by?: string; reason?: string } = {}): boolean {
    const o = this.#override;
    if (o === undefined) return false;
    const by = options.by === undefined ? o.by : checkString('by', options.by);
    const reason = options.reason === undefined ? undefined : checkString('reason', options.reason);
    this.#lift(o, 'manual', by, reason);
    return true;
  }

  /** Stops following the health registry and breakers, and drops the override's timer. */
  close(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    for (const t of this.#breakerTimers.values()) t.clear();
    this.#breakerTimers.clear();
    this.#override?.timer?.clear();
  }

  /** Node fires a timer of more than 2^31-1 ms at once: a longer override waits in steps. */
  #armExpiry(o: Override): void {
    if (o.until === undefined) return;
    const wait = o.until - this.#clock.now();
    o.timer =
      wait > MAX_TIMER_MS
        ? this.#clock.setTimeout(() => this.#armExpiry(o), MAX_TIMER_MS)
        : this.#clock.setTimeout(() => this.#lift(o, 'expiry', o.by, `override by ${o.by} expired`), wait);
    o.timer.unref(); // an override never keeps the process alive
  }

  #lift(o: Override, source: 'manual' | 'expiry', by: string, reason: string | undefined): void {
    if (this.#override !== o) return;
    o.timer?.clear();
    this.#override = undefined;
    this.#publish(source, by, true, reason);
  }

  /** An open breaker becomes half-open only when read: read it when its time is up, so the level follows it. */
  #onBreaker(name: string, state: CircuitState): void {
    this.#breakerTimers.get(name)?.clear();
    this.#breakerTimers.delete(name);
    const breaker = this.#breakers.get(name) as CircuitBreaker;
    if (state === 'open') {
      const timer = this.#clock.setTimeout(() => {
        this.#breakerTimers.delete(name);
        void breaker.state; // emits stateChange to half-open, which re-evaluates
      }, breaker.toJSON().openUntil - this.#clock.now());
      timer.unref();
      this.#breakerTimers.set(name, timer);
    }
    this.#evaluate();
  }

  #evaluate(): void {
    // Reading a breaker's state may emit its stateChange, which lands here again: loop instead of recursing.
    if (this.#evaluating) {
      this.#again = true;
      return;
    }
    this.#evaluating = true;
    try {
      do {
        this.#again = false;
        this.#refresh();
        const match = worstMatch(this.#rules, this.#inputs);
        this.#ruled = match === undefined ? ALL_CLEAR : { level: match.rule.level, reason: matchReason(match), rule: match.rule.name };
      } while (this.#again);
    } finally {
      this.#evaluating = false;
    }
    this.#publish('rules', 'rules', false);
  }

  /** Applies the override or the rules; emits a record when something changed, or always for a manual action. */
  #publish(source: DegradationChange['source'], by: string, always: boolean, reasonOverride?: string): void {
    const o = this.#override;
    const level = o?.level ?? this.#ruled.level;
    const reason = o?.reason ?? this.#ruled.reason;
    const from = this.#level;
    if (!always && level === from && reason === this.#reason) return;
    const at = this.#clock.now();
    if (level !== from) this.#since = at;
    this.#level = level;
    this.#rank = levelRank('level', level);
    this.#reason = reason;
    this.#metrics?.state(level, this.#metricReason());
    if (!this.#events.listening('change')) return;
    const change: DegradationChange = { at, by, from, to: level, reason: reasonOverride ?? reason, source };
    if (o === undefined && this.#ruled.rule !== undefined) change.rule = this.#ruled.rule;
    if (o?.until !== undefined) change.until = o.until;
    this.#events.emit('change', change);
  }

  #metricReason(): string {
    return this.#override !== undefined ? 'manual' : (this.#ruled.rule ?? 'none');
  }
}

function findBreaker(source: BreakerSource | undefined, name: string, i: number): CircuitBreaker {
  let breaker: CircuitBreaker | undefined;
  if (source !== undefined && typeof (source as { get?: unknown }).get === 'function') {
    breaker = (source as { get(name: string): CircuitBreaker | undefined }).get(name);
  } else if (source !== undefined) {
    for (const b of source as Iterable<CircuitBreaker>) if (b.name === name) breaker = b;
  }
  if (breaker === undefined) throw new InvalidOptionError(`rules[${i}].when.breaker "${name}" is not among the breakers option`);
  return breaker;
}
