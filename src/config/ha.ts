import { hostname } from 'node:os';
import { z } from 'zod';
import { duration, formatDuration } from './duration.js';
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

/** `ha` needs PostgreSQL: every instance must see the same leases and results. */
export function haProblems(root: Record<string, unknown>): Problem[] {
  if (root.ha === undefined || root.ha === null) return [];
  const storage = root.storage ?? 'sqlite:';
  if (typeof storage !== 'string' || !storage.startsWith('sqlite:')) return [];
  return [
    {
      path: 'ha',
      message:
        "needs PostgreSQL storage (storage: postgres://…): instances share their components through leases in one database, and a SQLite file is one machine's",
    },
  ];
}
