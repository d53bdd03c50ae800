// Its own entry, `nines/degrade/openfeature` (not re-exported by index.ts), so `nines/degrade` loads without @openfeature/server-sdk.
import {
  type EvaluationContext,
  FlagNotFoundError,
  type JsonValue,
  OpenFeatureEventEmitter,
  ParseError,
  type Provider,
  ProviderEvents,
  type ResolutionDetails,
  TypeMismatchError,
} from '@openfeature/server-sdk';
import type { FlagContext } from './context.js';
import type { FlagEvaluation } from './evaluate.js';
import type { FlagSet } from './flag-set.js';

// OpenFeature's `targetingKey` is the sticky key: it stands for `userId` when the context has none.
function toContext(context: EvaluationContext): FlagContext {
  const { targetingKey, ...rest } = context;
  return targetingKey !== undefined && rest.userId === undefined ? { ...rest, userId: targetingKey } : (rest as FlagContext);
}

/**
 * An OpenFeature provider over a {@link FlagSet}: `getBooleanValue` is `isEnabled`; string, number
 * and object values come from the variant's payload (a string flag without payload gets the
 * variant's name). Reasons are nines' (`STATIC`, `TARGETING_MATCH`, `SPLIT`, `DISABLED`,
 * `DEFAULT`); an unknown flag or an unfit payload is an `ERROR` with the default value. Emits
 * `PROVIDER_CONFIGURATION_CHANGED` when a flag changes.
 */
export class NinesFlagProvider implements Provider {
  readonly metadata = { name: 'nines' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly #flags: FlagSet;
  readonly #unsubscribe: () => void;

  /** Serves `flags`; they may change at any time (a file store, an admin API). */
  constructor(flags: FlagSet) {
    this.#flags = flags;
    this.#unsubscribe = flags.on('change', ({ flag }) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [flag] }));
  }

  /** Stops forwarding changes (OpenFeature calls it on `close()` or when the provider is replaced). */
  async onClose(): Promise<void> {
    this.#unsubscribe();
  }

  /** `isEnabled`; variant: the flag's variant name, else `on`/`off`. */
  async resolveBooleanEvaluation(flagKey: string, _default: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    const e = this.#evaluate(flagKey, context);
    return { value: e.enabled, variant: e.variant.enabled ? e.variant.name : e.enabled ? 'on' : 'off', reason: e.reason };
  }

  /** The variant's payload as text, or its name without payload. */
  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return this.#value(flagKey, defaultValue, context, (v) => v.payload?.value ?? v.name);
  }

  /** The variant's payload as a number (`number` payloads, or text that is one). */
  async resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return this.#value(flagKey, defaultValue, context, (v) => {
      const n = v.payload === undefined || v.payload.value.trim() === '' ? Number.NaN : Number(v.payload.value);
      if (Number.isNaN(n)) throw new TypeMismatchError(`variant ${v.name} of ${flagKey} has no number payload`);
      return n;
    });
  }

  /** The variant's `json` payload, parsed. */
  async resolveObjectEvaluation<T extends JsonValue>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
  ): Promise<ResolutionDetails<T>> {
    return this.#value(flagKey, defaultValue, context, (v) => {
      if (v.payload?.type !== 'json') throw new TypeMismatchError(`variant ${v.name} of ${flagKey} has no json payload`);
      try {
        return JSON.parse(v.payload.value) as T;
      } catch (error) {
        throw new ParseError(`variant ${v.name} of ${flagKey}: ${(error as Error).message}`);
      }
    });
  }

  #evaluate(flagKey: string, context: EvaluationContext): FlagEvaluation {
    const e = this.#flags.evaluate(flagKey, toContext(context));
    if (e.off === 'unknown') throw new FlagNotFoundError(`no flag ${flagKey}`);
    return e;
  }

  #value<T>(flagKey: string, defaultValue: T, context: EvaluationContext, read: (v: FlagEvaluation['variant']) => T): ResolutionDetails<T> {
    const e = this.#evaluate(flagKey, context);
    // off, or on without a variant: the caller's default
    if (!e.variant.enabled) return { value: defaultValue, reason: e.enabled ? 'DEFAULT' : e.reason };
    return { value: read(e.variant), variant: e.variant.name, reason: e.reason };
  }
}
