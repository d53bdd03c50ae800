/**
 * The `nines serve` config: one YAML file, `${NAME}` references resolved from the environment after
 * parsing, validated by zod into a {@link NinesConfig} with defaults applied and durations in ms.
 */

export { type AlertRuleConfig, AVAILABILITY_WINDOWS, FAILURE_RATE_WINDOWS, readsCertificate } from './alert-rules.js';
export type {
  BackupConfig,
  BackupTargetConfig,
  FilesTargetConfig,
  PostgresTargetConfig,
  SqliteTargetConfig,
} from './backup.js';
export { CHECK_TYPES, type CheckConfig, type CheckType, PLACEHOLDERS_BY_CHECK } from './checks.js';
export * from './conditions.js';
export { MAX_WINDOW, type OpenRule, type ResolveRule } from './confirm.js';
export { DURATION_HINT, type DurationBounds, duration, formatDuration, parseDuration } from './duration.js';
export { type Env, type Interpolated, interpolateEnv } from './env.js';
export type { HaConfig } from './ha.js';
export { type LoadOptions, type LoadResult, loadConfig, parseConfig } from './load.js';
export { type MaintenanceConfig, maintenanceWindow, parseMaintenance } from './maintenance.js';
export type { AlertmanagerConfig, EmailConfig, NotifyConfig, ReceiverConfig, WebhookConfig } from './notify.js';
export { formatPath, formatProblems, type PathSegment, type Problem } from './problems.js';
export {
  type ComponentConfig,
  configSchema,
  DEFAULT_SETTINGS,
  fileSchema,
  MIN_TOKEN_LENGTH,
  NAME_PATTERN,
  type NinesConfig,
  type Settings,
  type SloConfig,
  type StorageConfig,
  storageSchema,
  storageUrl,
} from './schema.js';
export type { SubscribersConfig } from './subscribers.js';
