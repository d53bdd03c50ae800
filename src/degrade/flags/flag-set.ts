import { type Clock, systemClock } from '../../core/clock.js';
import { Events } from '../../core/events.js';
import { checkFunction, checkString } from '../../core/validate.js';
import type { FlagContext } from './context.js';
import { FlagsInvalidError } from './errors.js';
import { type EvaluationEnv, evaluate, type FlagEvaluation, type FlagVariant } from './evaluate.js';
import { type FlagLevel, levelAtLeast } from './level.js';
import type { FlagMetrics } from './metrics-sink.js';
import { type FlagDefinition, type FlagInput, flagDefinitionSchema, flagRecordSchema, problemsOf } from './schema.js';

/** One flag changed: added (`before` undefined), changed, or removed (`after` undefined). */
export interface FlagChange {
  flag: string;
  before: FlagDefinition | undefined;
  after: FlagDefinition | undefined;
}

/** Events of a {@link FlagSet}. */
export interface FlagSetEvents {
  /** Once per flag that changed, after the change is in force. */
  change: FlagChange;
}

/** Options of {@link FlagSet}. */
export interface FlagSetOptions {
  /** The flags to start with. Default: none. */
  flags?: Record<string, FlagInput>;
  /** The current degradation level, read at each evaluation of a flag with `minLevel`. Default `() => 'full'`. */
  level?: () => FlagLevel;
  /** Time for `DATE_*` conditions. Default {@link systemClock}. */
  clock?: Clock;
  /** Chance for keyless rollouts, as Unleash's `random` stickiness. Default `Math.random`. */
  random?: () => number;
  /** Where `nines_flag_enabled` is read. Default: nowhere. */
  metrics?: FlagMetrics;
}

const UNKNOWN: FlagEvaluation = Object.freeze({
  enabled: false,
  variant: Object.freeze({ name: 'disabled', enabled: false, featureEnabled: false }),
  reason: 'DEFAULT',
  off: 'unknown',
});
const EMPTY: FlagContext = Object.freeze({});

/** One flag's definition validated: the flag, or `FlagsInvalidError` with every problem as `path: message` (for stores too). */
export function parseFlag(name: string, input: unknown): FlagDefinition {
  const parsed = flagDefinitionSchema.safeParse(input);
  if (!parsed.success) throw new FlagsInvalidError(problemsOf(parsed.error, name));
  return parsed.data;
}

/**
 * Flags held in memory: evaluation reads only this object (no I/O), so it is as fast and as
 * available as a map lookup. Stores (a file, PostgreSQL, an admin API) change it with
 * {@link FlagSet.replace} and {@link FlagSet.set}.
 */
export class FlagSet extends Events<FlagSetEvents> {
  #flags = new Map<string, FlagDefinition>();
  readonly #env: EvaluationEnv;

  /** Validates `options` and the starting flags (a bad one throws `FlagsInvalidError`). */
  constructor(options: FlagSetOptions = {}) {
    super();
    checkFunction('level', options.level);
    checkFunction('random', options.random);
    const level = options.level ?? (() => 'full' as const);
    const clock = options.clock ?? systemClock;
    this.#env = { get: (n) => this.#flags.get(n), level, now: () => clock.now(), random: options.random ?? Math.random };
    if (options.flags !== undefined) this.replace(options.flags);
    options.metrics?.observe({ liveFlags: () => this.#liveFlags() });
  }

  /** Whether flag `name` is on for `context`; `defaultValue` (default false) when there is no such flag. */
  isEnabled(name: string, context: FlagContext = EMPTY, defaultValue = false): boolean {
    const flag = this.#flags.get(name);
    return flag === undefined ? defaultValue : evaluate(name, flag, context, this.#env).enabled;
  }

  /** The variant of flag `name` for `context`: `{ name: 'disabled', enabled: false }` when off, unknown or without variants. */
  variant(name: string, context: FlagContext = EMPTY): FlagVariant {
    return this.evaluate(name, context).variant;
  }

  /** The whole evaluation of flag `name`: on or off, variant, reason, and what turned it off. */
  evaluate(name: string, context: FlagContext = EMPTY): FlagEvaluation {
    const flag = this.#flags.get(name);
    return flag === undefined ? UNKNOWN : evaluate(name, flag, context, this.#env);
  }

  /**
   * Whether flag `name` is live: defined, its kill switch not pulled, the degradation level at or
   * above its `minLevel`, and the same for each parent it needs on. Rules and rollouts are not
   * read: live means "on for whoever its rules let in". This is `nines_flag_enabled`.
   */
  live(name: string): boolean {
    const flag = this.#flags.get(name);
    if (flag === undefined || !this.#switchedOn(flag)) return false;
    return (flag.dependsOn ?? []).every((dep) => {
      if (dep.enabled === false) return true;
      const parent = this.#flags.get(dep.flag);
      return parent !== undefined && !parent.dependsOn?.length && this.#switchedOn(parent);
    });
  }

  /** The definition of flag `name`, as held. */
  get(name: string): FlagDefinition | undefined {
    return this.#flags.get(name);
  }

  /** Every flag's name. */
  names(): string[] {
    return [...this.#flags.keys()];
  }

  /** Every flag as held, by name (a copy). */
  all(): Record<string, FlagDefinition> {
    return Object.fromEntries(this.#flags);
  }

  /**
   * Replaces every flag at once: validates all of `flags` first (any problem throws
   * `FlagsInvalidError` listing every problem, and nothing changes), then swaps them in one step,
   * so no evaluation sees half of the new set. Emits `change` for each flag that differs.
   */
  replace(flags: Record<string, FlagInput>): void {
    const parsed = flagRecordSchema.safeParse(flags);
    if (!parsed.success) throw new FlagsInvalidError(problemsOf(parsed.error));
    const before = this.#flags;
    this.#flags = new Map(Object.entries(parsed.data));
    if (!this.listening('change')) return;
    for (const [flag, after] of this.#flags) this.#changed(flag, before.get(flag), after);
    for (const [flag, old] of before) if (!this.#flags.has(flag)) this.#changed(flag, old, undefined);
  }

  /** Adds or replaces flag `name` (validated: a bad definition throws `FlagsInvalidError`). */
  set(name: string, flag: FlagInput): void {
    checkString('name', name);
    const after = parseFlag(name, flag);
    const before = this.#flags.get(name);
    this.#flags.set(name, after);
    this.#changed(name, before, after);
  }

  /** Removes flag `name`; true if it existed. */
  remove(name: string): boolean {
    const before = this.#flags.get(name);
    if (before === undefined) return false;
    this.#flags.delete(name);
    this.#changed(name, before, undefined);
    return true;
  }

  #switchedOn(flag: FlagDefinition): boolean {
    return flag.enabled && (flag.minLevel === undefined || levelAtLeast(this.#env.level(), flag.minLevel));
  }

  *#liveFlags(): Iterable<readonly [string, boolean]> {
    for (const name of this.#flags.keys()) yield [name, this.live(name)];
  }

  #changed(flag: string, before: FlagDefinition | undefined, after: FlagDefinition | undefined): void {
    if (!this.listening('change') || JSON.stringify(before) === JSON.stringify(after)) return;
    this.emit('change', { flag, before, after });
  }
}
