/** Classes of work, most important first; under load the last ones are shed first. */
export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;

/** A class of work: `critical` (health probes, control traffic), `high`, `normal` (the default), `low` (batch, prefetch). */
export type Priority = (typeof PRIORITIES)[number];

/** Why work was shed: the signal that was over its limit. */
export type ShedReason = 'event_loop_delay' | 'in_flight' | 'queue_depth';

/** Every reason, in the order the shedder checks them (cheapest first). */
export const SHED_REASONS: readonly ShedReason[] = ['in_flight', 'queue_depth', 'event_loop_delay'];

/**
 * Multiples of the limits that each priority may use: the configured limits are those of `normal`;
 * `low` is shed at half of them, `high` at twice, `critical` never.
 */
export const DEFAULT_LEVELS: Readonly<Record<Priority, number>> = { critical: Number.POSITIVE_INFINITY, high: 2, normal: 1, low: 0.5 };
