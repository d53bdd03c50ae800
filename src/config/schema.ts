import { z } from 'zod';
import { checkFlagDependencies, flagDefinitionSchema } from '../degrade/flags/schema.js';
import { alertRules } from './alert-rules.js';
import { backupSchema } from './backup.js';
import { burnAlerting, resolveBurnAlerts } from './burn-alerts.js';
import { checkSchema } from './checks.js';
import { type Condition, ConditionSyntaxError } from './condition-ast.js';
import { parseCondition } from './condition-parse.js';
import { type OpenRule, openRule, type ResolveRule, resolveRule } from './confirm.js';
import { degradationSchema } from './degradation.js';
import { duration } from './duration.js';
import { haSchema } from './ha.js';
import { maintenanceSchema } from './maintenance.js';
import { notifySchema } from './notify.js';
import { serverRateLimitSchema } from './rate-limit.js';
import { subscribersSchema } from './subscribers.js';

/** Component and SLO names: lower case, digits, `.`, `_`, `-`; they appear in URLs and metric labels. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
/** Shortest accepted `server.token`. */
export const MIN_TOKEN_LENGTH = 16;

const SECOND = 1_000;
const DAY = 86_400_000;

const name = z.string().regex(NAME_PATTERN, 'must be lower case letters, digits, ".", "_" or "-", starting with a letter or digit');
const count = z.int().min(1);

/** Timing and incident settings: set once in `defaults`, overridable per component. */
const settings = {
  /** Time between runs of a check. */
  interval: duration({ min: 50 }), // 50 ms: fast enough for end-to-end tests; production uses seconds
  /** A run still going after this fails (must be less than interval). */
  timeout: duration({ min: 1 }),
  /** A passing run slower than this is degraded. */
  degradedAfter: duration({ min: 1 }),
  /** Failures that open an incident: N consecutive, "N of M", or "for 2m" (confirm.ts). */
  failuresToOpen: openRule,
  /** Passes that resolve it: N consecutive or "for 2m". */
  successesToResolve: resolveRule,
  /** More state changes than this within flapWindow mark the component flapping. */
  flapThreshold: count,
  /** Window over which state changes are counted. */
  flapWindow: duration({ min: SECOND }),
};

/** The built-in values of `defaults`. */
export const DEFAULT_SETTINGS = {
  interval: 30 * SECOND,
  timeout: 5 * SECOND,
  degradedAfter: SECOND,
  failuresToOpen: 3,
  successesToResolve: 2,
  flapThreshold: 5,
  flapWindow: 10 * 60 * SECOND,
} as const;

/** Timing and incident settings of a component, in ms and counts. */
export type Settings = { -readonly [K in Exclude<keyof typeof DEFAULT_SETTINGS, 'failuresToOpen' | 'successesToResolve'>]: number } & {
  failuresToOpen: OpenRule;
  successesToResolve: ResolveRule;
};

const defaults = z.strictObject({
  interval: settings.interval.default(DEFAULT_SETTINGS.interval),
  timeout: settings.timeout.default(DEFAULT_SETTINGS.timeout),
  degradedAfter: settings.degradedAfter.default(DEFAULT_SETTINGS.degradedAfter),
  failuresToOpen: settings.failuresToOpen.default(DEFAULT_SETTINGS.failuresToOpen),
  successesToResolve: settings.successesToResolve.default(DEFAULT_SETTINGS.successesToResolve),
  flapThreshold: settings.flapThreshold.default(DEFAULT_SETTINGS.flapThreshold),
  flapWindow: settings.flapWindow.default(DEFAULT_SETTINGS.flapWindow),
});

/** A condition string, parsed at load so a typo is a problem at its path, not a failure at run time. */
const condition = z.string().transform((text, ctx): Condition => {
  try {
    return parseCondition(text);
  } catch (error) {
    if (!(error instanceof ConditionSyntaxError)) throw error;
    ctx.issues.push({ code: 'custom', message: error.message, input: text });
    return z.NEVER;
  }
});

const component = z.strictObject({
  name,
  /** Readiness of the whole service depends on it; shown first on the status page. */
  critical: z.boolean().default(false),
  /** Free labels shown with results. */
  tags: z.array(z.string().min(1)).default([]),
  /** Shown on the status page, its badges and feed; false keeps an internal component off them. */
  public: z.boolean().default(true),
  /** Short text shown under the name on the status page. */
  description: z.string().max(200).optional(),
  /** Components this one needs: while one of them is down, this one's alerts are held (its figures stay exact). */
  dependsOn: z.array(z.string()).default([]),
  /** A target that should always answer (a gateway, a public resolver): while it fails, the monitor's own network is the suspect. */
  canary: z.boolean().default(false),
  check: checkSchema,
  /** Extra pass conditions on what the check observed. */
  conditions: z.array(condition).default([]),
  interval: settings.interval.optional(),
  timeout: settings.timeout.optional(),
  degradedAfter: settings.degradedAfter.optional(),
  failuresToOpen: settings.failuresToOpen.optional(),
  successesToResolve: settings.successesToResolve.optional(),
  flapThreshold: settings.flapThreshold.optional(),
  flapWindow: settings.flapWindow.optional(),
});

const slo = z
  .strictObject({
    name,
    /** The component whose availability is measured. */
    component: z.string(),
    /** Target availability in percent, strictly between 0 and 100. */
    objective: z.number().gt(0, 'must be greater than 0').lt(100, 'must be less than 100 (no service is up 100 % of the time)'),
    /** Rolling window. Default 30d. */
    window: duration({ min: 60 * SECOND }).default(30 * DAY),
    /** Overrides of the built-in multi-window burn-rate alerts (burn-alerts.ts). */
    alerting: burnAlerting.optional(),
  })
  .transform(({ alerting, ...slo }, ctx) => {
    const alerts = resolveBurnAlerts(slo.objective, slo.window, alerting, ({ path, message }) =>
      ctx.issues.push({ code: 'custom', path, message, input: alerting }),
    );
    return { ...slo, alerts };
  });

/** Where results live: a SQLite file, or a PostgreSQL database (in `schema` when the URL's `?schema=` names one). */
export type StorageConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string };

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,40}$/;

const storage = z
  .string()
  .default('sqlite:./data/nines.db')
  .transform((text, ctx): StorageConfig => {
    if (text.startsWith('sqlite:') && text.length > 'sqlite:'.length) return { kind: 'sqlite', path: text.slice('sqlite:'.length) };
    if (/^postgres(ql)?:\/\/\S+$/.test(text) && URL.canParse(text) && new URL(text).hostname !== '') {
      // `?schema=` is nines' (as Prisma's), not libpq's: taken off before the URL reaches the driver.
      const url = new URL(text);
      const schema = url.searchParams.get('schema');
      if (schema === null) return { kind: 'postgres', url: text };
      if (!SCHEMA_NAME.test(schema)) {
        ctx.issues.push({ code: 'custom', message: `schema must match ${SCHEMA_NAME}, got ${JSON.stringify(schema)}`, input: schema });
        return z.NEVER;
      }
      url.searchParams.delete('schema');
      return { kind: 'postgres', url: url.toString(), schema };
    }
    ctx.issues.push({ code: 'custom', message: 'expected sqlite:<path> or postgres://user@host:5432/db', input: text });
    return z.NEVER;
  });

/** `server.liveness`: what counts as stuck, and the watchdog that exits when it lasts. */
const liveness = z.strictObject({
  /** Longest event-loop block tolerated between two evaluations. Default 5s. */
  maxEventLoopDelay: duration({ min: 1 }).default(5 * SECOND),
  /** Heap used / heap limit past which the process counts as stuck. Default 0.98. */
  maxHeapRatio: z.number({ error: 'expected a number' }).gt(0, 'must be more than 0').max(1, 'must be at most 1').default(0.98),
  /** Exit (code 1, after the graceful stop) once liveness has failed this long; 0 (the default) never exits. */
  exitAfter: duration().default(0),
});

const server = z.strictObject({
  /** Address to listen on. Default 127.0.0.1 (loopback only). */
  host: z.string().regex(/^\S+$/, 'expected a host name or IP address').default('127.0.0.1'),
  /** Port to listen on. Default 4000. */
  port: z.int().min(1).max(65_535).default(4000),
  /** Bearer token for the write API; empty means none. */
  token: z
    .string()
    .optional()
    .transform((token) => (token === '' ? undefined : token))
    .refine((token) => token === undefined || (token.length >= MIN_TOKEN_LENGTH && !/\s/.test(token)), {
      message: `must be at least ${MIN_TOKEN_LENGTH} characters without spaces (try: openssl rand -hex 32)`,
    }),
  /** Requests each client address may make, per kind of route (rate-limit.ts). */
  rateLimit: serverRateLimitSchema,
  /** When `/liveness` fails, and when a failing liveness ends the process (docs/monitor.md#exit-on-failing-liveness). */
  liveness: liveness.prefault({}),
});

/** The status page at `/`. */
const page = z.strictObject({
  /** Heading and window title. */
  title: z.string().min(1, 'must not be empty').max(100).default('Status'),
  /** Image shown before the title (an absolute http(s) URL or a path on this server). */
  logo: z
    .string()
    .refine((v) => /^https?:\/\/\S+$/.test(v) || /^\/\S*$/.test(v), 'expected an http(s) URL or a path starting with /')
    .optional(),
  /** How often an open page refreshes itself. */
  refresh: duration({ min: SECOND }).default(10 * SECOND),
  /** Public address of the page, for absolute links in the feed; default: the address a request came to. */
  url: z
    .string()
    .refine((v) => /^https?:\/\/[^\s?#]+$/.test(v) && URL.canParse(v), 'expected an http(s) URL without query or fragment')
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
});

/** When the monitor suspects its own network rather than its targets (src/monitor/connectivity.ts). */
const connectivity = z.strictObject({
  /** Every network target failing at once means the monitor's network is down, unless a canary answers. */
  allFailing: z.boolean().default(true),
  /** The fewest network targets for allFailing to apply: with fewer, their outage is too likely to be real. */
  minTargets: z.int().min(2).default(3),
  /** Severity of the one NinesMonitorConnectivityLost alert sent instead of the targets' (default ticket: it does not page). */
  severity: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*$/, 'expected a word like page, ticket or info')
    .default('ticket'),
});

/** How nines runs its alert rules. */
const alerts = z.strictObject({
  /** Time between two evaluations of every rule (Prometheus' evaluation_interval). */
  evaluationInterval: duration({ min: 100, max: 3_600_000 }).default(10 * SECOND),
  /** A firing alert is announced again this often until it resolves (Alertmanager's repeat_interval). */
  repeatInterval: duration({ min: SECOND }).default(4 * 3_600_000),
  /** Threshold rules (alert-rules.ts). */
  rules: alertRules,
});

/** Feature flags of `nines serve` by name, served at `/api/flags` (docs/degradation.md#flags-in-nines-serve). */
const flags = z
  .record(name, flagDefinitionSchema)
  .default({})
  .superRefine((all, ctx) => checkFlagDependencies(all, ctx));

/** The config file as written, before defaults are merged into components. */
export const fileSchema = z.strictObject({
  server: server.prefault({}),
  page: page.prefault({}),
  storage,
  /** Longest an API read of the store waits before answering 503 (writes keep the driver's 15 s). */
  storageReadTimeout: duration({ min: 1 }).default(2 * SECOND),
  /** How long raw results are kept; rollups and incidents are kept longer. */
  retention: duration({ min: 3_600_000 }).default(7 * DAY),
  defaults: defaults.prefault({}),
  components: z.array(component).min(1, 'needs at least one component'),
  slos: z.array(slo).default([]),
  alerts: alerts.prefault({}),
  /** Where alerts are sent (notify.ts). */
  notify: notifySchema.prefault({}),
  /** Maintenance windows (maintenance.ts); the API adds more. */
  maintenance: maintenanceSchema,
  connectivity: connectivity.prefault({}),
  /** Visitors subscribed to incident and maintenance updates (subscribers.ts). */
  subscribers: subscribersSchema.prefault({}),
  flags,
  /** What moves the service's own degradation level (degradation.ts). */
  degradation: degradationSchema.prefault({}),
  /** Backups: repository, encryption, targets (backup.ts). */
  backup: backupSchema,
  /** Several instances sharing the components on one PostgreSQL database (ha.ts); absent: one instance checks all. */
  ha: haSchema.optional(),
});

/** The config file with defaults merged into every component: what the monitor runs. */
export const configSchema = fileSchema.transform(({ components, defaults, ...rest }) => ({
  ...rest,
  defaults,
  components: components.map(
    ({ name, critical, tags, public: isPublic, description, dependsOn, canary, check, conditions, ...overrides }) => {
      const own = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
      const base = { name, critical, tags, public: isPublic, description, dependsOn, canary, check, conditions };
      return { ...base, ...defaults, ...own } as ComponentBase & Settings;
    },
  ),
}));

type ComponentBase = Pick<
  z.output<typeof component>,
  'name' | 'critical' | 'tags' | 'public' | 'description' | 'dependsOn' | 'canary' | 'check' | 'conditions'
>;

/** A validated config: defaults applied, durations in ms, conditions parsed. */
export type NinesConfig = z.output<typeof configSchema>;

/** One component of a {@link NinesConfig}, with every setting resolved. */
export type ComponentConfig = NinesConfig['components'][number];

/** One SLO of a {@link NinesConfig}. */
export type SloConfig = NinesConfig['slos'][number];

/** The store URL of a validated config (`sqlite:<path>` or the PostgreSQL URL). */
export function storageUrl(config: Pick<NinesConfig, 'storage'>): string {
  return config.storage.kind === 'sqlite' ? `sqlite:${config.storage.path}` : config.storage.url;
}

/** The PostgreSQL schema of a validated config's store (its URL's `?schema=`), or undefined: the connection's default. */
export function storageSchema(config: Pick<NinesConfig, 'storage'>): string | undefined {
  return config.storage.kind === 'postgres' ? config.storage.schema : undefined;
}
