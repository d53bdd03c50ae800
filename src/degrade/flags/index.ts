export type { FlagContext } from './context.js';
export { FlagsInvalidError } from './errors.js';
export type { FlagEvaluation, FlagOffCause, FlagReason, FlagVariant } from './evaluate.js';
export { type FlagFileEvents, FlagFileStore, type FlagFileStoreOptions, readFlagFile, watchFlagFile } from './file-store.js';
export { type FlagChange, FlagSet, type FlagSetEvents, type FlagSetOptions, parseFlag } from './flag-set.js';
export { FLAG_LEVELS, type FlagLevel } from './level.js';
export type { FlagMetrics, FlagSource } from './metrics-sink.js';
export { bucket, murmur3, VARIANT_SEED } from './murmur3.js';
export {
  FLAG_OPERATORS,
  type FlagCondition,
  type FlagDefinition,
  type FlagInput,
  type FlagOperator,
  type FlagRule,
  type FlagVariantDefinition,
  flagDefinitionSchema,
  flagFileSchema,
} from './schema.js';
export { fromUnleash, type UnleashConstraint, type UnleashFeature, type UnleashSegment, type UnleashVariant } from './unleash.js';
