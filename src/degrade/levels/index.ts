export { DEGRADATION_LEVELS, type DegradationLevel } from './levels.js';
export {
  type BreakerSource,
  type DegradationChange,
  type DegradationEvents,
  DegradationManager,
  type DegradationManagerOptions,
  type DegradationState,
  type HealthSource,
  type LevelSource,
  type OverrideOptions,
} from './manager.js';
export type { DegradationMetrics, ManagerMetrics } from './metrics-sink.js';
export type { BreakerCondition, DegradationRule, HealthCondition } from './rules.js';
