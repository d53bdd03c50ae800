import { z } from 'zod';
import { host, port } from './checks.js';
import { duration } from './duration.js';

const SECOND = 1000;

/** Receiver names: they appear in metric labels and the API. */
const receiverName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower case letters, digits, ".", "_" or "-"');

/** An http(s) URL, normalised (the value is never echoed: it may hold a token). */
const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/\S+$/.test(v) && URL.canParse(v), 'expected an http(s) URL')
  .transform((v) => new URL(v).href);

/** How a receiver retries one message before it becomes a dead letter. */
const retries = {
  /** Attempts in all before the message becomes a dead letter. */
  maxAttempts: z.int().min(1).max(20).default(5),
  /** Wait before the first retry; doubles after each, jittered, capped at 1 min. */
  retryDelay: duration({ min: 1, max: 60 * SECOND }).default(SECOND),
};

/** Longest one attempt may take. */
const attemptTimeout = duration({ min: 100, max: 60 * SECOND }).default(5 * SECOND);

const webhook = z.strictObject({
  /** Where to POST: an http(s) URL. */
  url: httpUrl,
  /** Shared secret of the HMAC in X-Nines-Signature; write it as ${ENV}, never in the file. */
  secret: z.string().min(16, 'must be at least 16 characters (try: openssl rand -hex 32)').optional(),
  timeout: attemptTimeout,
  ...retries,
});

/** A Slack (or Mattermost, Rocket.Chat) incoming webhook: Block Kit messages. */
const slack = z.strictObject({
  /** The incoming webhook's URL; it is the credential: write it as ${SLACK_WEBHOOK_URL}. */
  url: httpUrl,
  timeout: attemptTimeout,
  ...retries,
});

/** Whether `v` is a bare e-mail address (HTML5's rule, as browsers check `type=email`). */
export const isAddress = (v: string) => z.regexes.html5Email.test(v);

/** An address, bare or with a display name (`nines <nines@example.com>`); never a line break, so never a header injected. */
const mailbox = z
  .string()
  .refine((v) => isAddress(v) || isAddress(/^[^<>\r\n]*<([^<>]*)>$/.exec(v)?.[1] ?? ''), 'expected an e-mail address');

const smtp = z
  .strictObject({
    host,
    /** Default 465 with `secure`, else 587 (submission). */
    port: port.optional(),
    /** TLS from the first byte (port 465); else STARTTLS when the server offers it. */
    secure: z.boolean().default(false),
    /** Refuse to send (and to log in) unless the connection is upgraded by STARTTLS. */
    requireTLS: z.boolean().default(true),
    user: z.string().min(1).optional(),
    /** Write it as ${ENV}, never in the file. */
    password: z.string().min(1).optional(),
    /** Longest one attempt (connect, log in, send) may take. */
    timeout: duration({ min: 100, max: 120 * SECOND }).default(30 * SECOND),
  })
  .superRefine((s, ctx) => {
    if (s.user !== undefined && s.password === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'needed with user' });
    if (s.user === undefined && s.password !== undefined) ctx.addIssue({ code: 'custom', path: ['user'], message: 'needed with password' });
  })
  .transform((s) => ({ ...s, port: s.port ?? (s.secure ? 465 : 587) }));

/** E-mail over SMTP. */
const email = z.strictObject({
  smtp,
  from: mailbox,
  to: z.array(mailbox).min(1, 'needs at least one recipient'),
  ...retries,
});

const alertmanager = z.strictObject({
  /** Every Alertmanager of the cluster, each posted to directly (not through a load balancer), as Prometheus does. */
  urls: z.array(httpUrl.transform((v) => v.replace(/\/+$/, ''))).min(1, 'needs at least one Alertmanager'),
  /** Firing alerts are sent again this often, with endsAt four intervals ahead (Prometheus' resend delay). */
  resendInterval: duration({ min: 100, max: 3_600_000 }).default(60 * SECOND),
  /** Longest one POST may take. */
  timeout: duration({ min: 100, max: 60 * SECOND }).default(10 * SECOND),
});

/** How a receiver (all but Alertmanager) batches alerts, as Alertmanager's route does. */
const group = z.strictObject({
  /** Alerts with the same values of these labels go in one message. */
  by: z.array(z.string()).default(['alertname']),
  /** How long a new group waits for more alerts before its first message. */
  wait: duration({ max: 3_600_000 }).default(30 * SECOND),
  /** Least time between two messages of one group; what changes meanwhile goes in the next. */
  interval: duration({ max: 24 * 3_600_000 }).default(5 * 60 * SECOND),
});

const KINDS = ['webhook', 'slack', 'email', 'alertmanager'] as const;

/** A place notifications go: a webhook, Slack, e-mail or Alertmanager. */
const receiver = z
  .strictObject({
    name: receiverName,
    webhook: webhook.optional(),
    slack: slack.optional(),
    email: email.optional(),
    alertmanager: alertmanager.optional(),
    group: group.prefault({}),
  })
  .refine((r) => KINDS.filter((k) => r[k] !== undefined).length === 1, `needs exactly one of ${KINDS.join(', ')}`);

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

/** A receiver's `email` settings. */
export type EmailConfig = NonNullable<ReceiverConfig['email']>;

/** A receiver's `alertmanager` settings. */
export type AlertmanagerConfig = NonNullable<ReceiverConfig['alertmanager']>;
