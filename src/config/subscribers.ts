import { z } from 'zod';
import { duration } from './duration.js';
import type { Problem } from './problems.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** `subscribers`: visitors of the status page who subscribe to its incident and maintenance updates. */
export const subscribersSchema = z.strictObject({
  /** Off by default: the form, the public endpoints and the messages exist only when on. */
  enabled: z.boolean().default(false),
  /** E-mail subscribers, sent through the SMTP settings (and `from`) of the e-mail receiver named `via`. */
  email: z.strictObject({ via: z.string().min(1) }).optional(),
  webhook: z
    .strictObject({
      /** Webhook subscribers (confirmed by a challenge the receiver echoes). */
      enabled: z.boolean().default(false),
      /** Allow URLs to loopback, private, link-local and other internal addresses (tests, a closed network): a visitor could make nines post to them. */
      allowPrivate: z.boolean().default(false),
      /** Longest one post may take. */
      timeout: duration({ min: 100, max: MINUTE }).default(10_000),
    })
    .prefault({}),
  /** How long a confirmation link (and a webhook's challenge) stays valid. */
  confirmTtl: duration({ min: MINUTE, max: 7 * 24 * HOUR }).default(24 * HOUR),
  /** A maintenance occurrence is announced once when it becomes due within this. */
  announceAhead: duration({ min: 0, max: 7 * 24 * HOUR }).default(24 * HOUR),
  /**
   * Updates waiting `wait` after the first go out as one message per subscriber; after a message,
   * the next waits at least `interval` (what happens meanwhile goes in it), so an outage of thirty
   * components is one message, not thirty.
   */
  group: z
    .strictObject({
      wait: duration({ max: HOUR }).default(30_000),
      interval: duration({ max: 24 * HOUR }).default(5 * MINUTE),
    })
    .prefault({}),
});

/** The validated `subscribers` section. */
export type SubscribersConfig = z.output<typeof subscribersSchema>;

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Problems of `subscribers` that span sections, on the raw tree: `email.via` must name an e-mail
 * receiver of `notify.receivers`; when enabled, some kind must be on and `page.url` set (the links
 * in messages are built from it, never from a request's Host, which a visitor chooses).
 */
export function subscriberProblems(root: Tree): Problem[] {
  const s = root.subscribers;
  if (!isTree(s)) return [];
  const problems: Problem[] = [];
  const receivers = isTree(root.notify) && Array.isArray(root.notify.receivers) ? root.notify.receivers : [];
  const via = isTree(s.email) ? s.email.via : undefined;
  if (typeof via === 'string') {
    const receiver = receivers.find((r) => isTree(r) && r.name === via);
    if (!isTree(receiver))
      problems.push({ path: 'subscribers.email.via', message: `no receiver named ${JSON.stringify(via)} in notify.receivers` });
    else if (!isTree(receiver.email))
      problems.push({ path: 'subscribers.email.via', message: `receiver ${JSON.stringify(via)} is not an e-mail receiver` });
  }
  if (s.enabled !== true) return problems;
  const webhook = isTree(s.webhook) && s.webhook.enabled === true;
  if (via === undefined && !webhook)
    problems.push({ path: 'subscribers', message: 'enabled, but neither email.via nor webhook.enabled is set' });
  if (!isTree(root.page) || root.page.url === undefined)
    problems.push({ path: 'subscribers.enabled', message: 'needs page.url: the links in confirmations and updates are built from it' });
  return problems;
}
