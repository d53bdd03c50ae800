import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { duration, formatDuration, parseDuration } from './duration.js';
import type { Problem } from './problems.js';

const SECOND = 1000;
/** Instance and location names: what a pod name or a zone looks like. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const nameOf = (what: string) =>
  z
    .string({ error: `expected the ${what}'s name` })
    .regex(NAME, 'must be 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** The host name as an instance name: a pod's name, or the machine's, cut to what {@link NAME} allows. */
function defaultInstance(): string {
  const h = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63);
  return NAME.test(h) ? h : 'nines';
}

/**
 * `ha.quorum`: an incident opens only when `k` distinct locations see the failure within
 * `confirmTimeout`; fewer make the component `partial` (docs/high-availability.md).
 */
const quorumSchema = z.strictObject({
  /** Distinct locations that must see a failure before an incident opens (the owner's counts). Default 2. */
  k: z.number({ error: 'expected a number of locations' }).int('must be a whole number').min(1, 'must be at least 1').default(2),
  /** How long the other locations have to probe and vote once asked; longer than every check's timeout. Default 10s. */
  confirmTimeout: duration({ min: 1 }).default(10 * SECOND),
  /** Fewer than `k` locations answered: `open` opens when all that answered failed, `hold` keeps it partial. Default open. */
  whenInsufficient: z.enum(['open', 'hold'], { error: 'expected open or hold' }).default('open'),
});

/**
 * `ha`: several `nines serve` instances on one PostgreSQL database share the components through
 * leases (docs/high-availability.md). Absent: this instance checks every component.
 */
export const haSchema = z
  .strictObject({
    /** This instance's name, unique among the live ones. Default: the host name (a pod's name on Kubernetes). */
    instance: nameOf('instance').default(defaultInstance),
    /** Where this instance probes from (a zone, a region); instances in one location confirm nothing for each other. Default: the instance's name. */
    location: nameOf('location').optional(),
    /** Time between two lease renewals. Default 2s. */
    heartbeat: duration({ min: 100 }).default(2 * SECOND),
    /** How long a lease lives past its renewal, on PostgreSQL's clock; a dead instance's components move after this. Default 10s. */
    leaseTtl: duration({ min: 1 }).default(10 * SECOND),
    /** An instance that has not renewed within this stops checking and turns its readiness to 503; below leaseTtl. Default 7s. */
    renewDeadline: duration({ min: 1 }).default(7 * SECOND),
    /** Local IP address this instance's http, tcp and tlsCertificate checks connect from (a multi-homed host). Default: the system's choice. */
    sourceAddress: z
      .string({ error: 'expected an IP address' })
      .refine((a) => isIP(a) !== 0, 'must be an IPv4 or IPv6 address')
      .optional(),
    /** Outages confirmed from several locations before an incident opens. Absent: the owner's checks alone decide. */
    quorum: quorumSchema.optional(),
  })
  .superRefine((ha, ctx) => {
    if (ha.renewDeadline >= ha.leaseTtl)
      ctx.issues.push({
        code: 'custom',
        path: ['renewDeadline'],
        message: `must be below leaseTtl (${formatDuration(ha.leaseTtl)}): an instance must stop before another may take its components`,
        input: ha.renewDeadline,
      });
    if (ha.heartbeat >= ha.renewDeadline)
      ctx.issues.push({
        code: 'custom',
        path: ['heartbeat'],
        message: `must be below renewDeadline (${formatDuration(ha.renewDeadline)}), or every renewal misses its deadline`,
        input: ha.heartbeat,
      });
  })
  .transform((ha) => ({ ...ha, location: ha.location ?? ha.instance }));

/** The `ha` settings of a validated config. */
export type HaConfig = z.output<typeof haSchema>;

/** `ha` needs PostgreSQL (every instance must see the same leases and results), and a quorum's confirmTimeout must outlast the checks' timeouts. */
export function haProblems(root: Record<string, unknown>, defaultTimeout: number): Problem[] {
  if (root.ha === undefined || root.ha === null) return [];
  const problems = quorumProblems(root, defaultTimeout);
  const storage = root.storage ?? 'sqlite:';
  if (typeof storage !== 'string' || !storage.startsWith('sqlite:')) return problems;
  return [
    {
      path: 'ha',
      message:
        "needs PostgreSQL storage (storage: postgres://…): instances share their components through leases in one database, and a SQLite file is one machine's",
    },
    ...problems,
  ];
}

/** `confirmTimeout` must outlast every check's timeout: a vote on a target that hangs arrives at that timeout. */
function quorumProblems(root: Record<string, unknown>, defaultTimeout: number): Problem[] {
  const ha = root.ha as Record<string, unknown>;
  const quorum =
    typeof ha === 'object' && typeof ha.quorum === 'object' && ha.quorum !== null ? (ha.quorum as Record<string, unknown>) : undefined;
  if (quorum === undefined) return [];
  const ms = (value: unknown): number | undefined => {
    try {
      return parseDuration(value as string | number);
    } catch {
      return undefined; // the schema reports it
    }
  };
  const confirm = quorum.confirmTimeout === undefined ? 10 * SECOND : ms(quorum.confirmTimeout);
  if (confirm === undefined) return [];
  const defaults = typeof root.defaults === 'object' && root.defaults !== null ? (root.defaults as Record<string, unknown>) : {};
  const fallback = ms(defaults.timeout ?? defaultTimeout) ?? defaultTimeout;
  const components = Array.isArray(root.components) ? root.components : [];
  let longest = { ms: 0, where: '' };
  components.forEach((c, i) => {
    const own = typeof c === 'object' && c !== null ? (c as Record<string, unknown>).timeout : undefined;
    const timeout = own === undefined ? fallback : (ms(own) ?? 0);
    if (timeout > longest.ms) longest = { ms: timeout, where: own === undefined ? 'defaults.timeout' : `components[${i}].timeout` };
  });
  if (confirm > longest.ms) return [];
  return [
    {
      path: 'ha.quorum.confirmTimeout',
      message: `must be longer than the longest check timeout (${formatDuration(longest.ms)}, ${longest.where}): a location's vote on a target that hangs comes at that timeout`,
    },
  ];
}
