import { z } from 'zod';
import { duration } from './duration.js';

const SECOND = 1000;

/** Receiver names: they appear in metric labels and the API. */
const receiverName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower case letters, digits, ".", "_" or "-"');

const webhook = z.strictObject({
  /** Where to POST: an http(s) URL. */
  url: z
    .string()
    .refine((v) => /^https?:\/\/\S+$/.test(v) && URL.canParse(v), 'expected an http(s) URL')
    .transform((v) => new URL(v).href),
  /** Shared secret of the HMAC in X-Nines-Signature; write it as ${ENV}, never in the file. */
  secret: z.string().min(16, 'must be at least 16 characters (try: openssl rand -hex 32)').optional(),
  /** Longest one attempt may take. */
  timeout: duration({ min: 100, max: 60 * SECOND }).default(5 * SECOND),
  /** Attempts in all before the message becomes a dead letter. */
  maxAttempts: z.int().min(1).max(20).default(5),
  /** Wait before the first retry; doubles after each, jittered, capped at 1 min. */
  retryDelay: duration({ min: 1, max: 60 * SECOND }).default(SECOND),
});

const alertmanager = z.strictObject({
  /** Every Alertmanager of the cluster, each posted to directly (not through a load balancer), as Prometheus does. */
  urls: z
    .array(
      z
        .string()
        .refine((v) => /^https?:\/\/\S+$/.test(v) && URL.canParse(v), 'expected an http(s) URL')
        .transform((v) => new URL(v).href.replace(/\/+$/, '')),
    )
    .min(1, 'needs at least one Alertmanager'),
  /** Firing alerts are sent again this often, with endsAt four intervals ahead (Prometheus' resend delay). */
  resendInterval: duration({ min: 100, max: 3_600_000 }).default(60 * SECOND),
  /** Longest one POST may take. */
  timeout: duration({ min: 100, max: 60 * SECOND }).default(10 * SECOND),
});

/** How a webhook receiver batches alerts, as Alertmanager's route does. */
const group = z.strictObject({
  /** Alerts with the same values of these labels go in one message. */
  by: z.array(z.string()).default(['alertname']),
  /** How long a new group waits for more alerts before its first message. */
  wait: duration({ max: 3_600_000 }).default(30 * SECOND),
  /** Least time between two messages of one group; what changes meanwhile goes in the next. */
  interval: duration({ max: 24 * 3_600_000 }).default(5 * 60 * SECOND),
});

/** A place notifications go: a webhook or Alertmanager. */
const receiver = z
  .strictObject({ name: receiverName, webhook: webhook.optional(), alertmanager: alertmanager.optional(), group: group.prefault({}) })
  .refine((r) => (r.webhook === undefined) !== (r.alertmanager === undefined), 'needs exactly one of webhook, alertmanager');

/** Which alerts go to which receiver: all of `match` must equal the alert's labels. */
const route = z.strictObject({
  match: z.record(z.string(), z.string()).default({}),
  receiver: z.string(),
});

/** `notify`: receivers, and routes from alerts to them (without routes every alert goes to every receiver). */
export const notifySchema = z
  .strictObject({
    receivers: z.array(receiver).default([]),
    routes: z.array(route).default([]),
  })
  .superRefine((n, ctx) => {
    const names = new Set<string>();
    n.receivers.forEach((r, i) => {
      if (names.has(r.name))
        ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `duplicate receiver name ${JSON.stringify(r.name)}` });
      names.add(r.name);
    });
    n.routes.forEach((r, i) => {
      if (!names.has(r.receiver))
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'receiver'], message: `no receiver named ${JSON.stringify(r.receiver)}` });
    });
  });

/** The validated `notify` section. */
export type NotifyConfig = z.output<typeof notifySchema>;

/** One receiver of {@link NotifyConfig}. */
export type ReceiverConfig = NotifyConfig['receivers'][number];

/** A receiver's `webhook` settings. */
export type WebhookConfig = NonNullable<ReceiverConfig['webhook']>;

/** A receiver's `alertmanager` settings. */
export type AlertmanagerConfig = NonNullable<ReceiverConfig['alertmanager']>;
