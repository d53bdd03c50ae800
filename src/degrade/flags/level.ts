// The flags' names for the levels of src/degrade/levels: one list, so a flag's `minLevel` and the manager agree.
export {
  DEGRADATION_LEVELS as FLAG_LEVELS,
  type DegradationLevel as FlagLevel,
  levelAtLeast,
} from '../levels/levels.js';
