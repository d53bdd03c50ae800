import { formatDuration } from '../config/duration.js';
import type { UpdateStatus } from '../monitor/store/types.js';
import { type EmailMessage, escapeHtml } from './email.js';
import { minute } from './summary.js';

/** One thing subscribers are told: an incident of a public component, a person's public update on it, or maintenance. */
export type SubscriberUpdate =
  | { type: 'incident.opened'; at: number; component: string }
  | { type: 'incident.resolved'; at: number; component: string; start: number }
  | { type: 'incident.updated'; at: number; component: string; incident: number; status: UpdateStatus | null; message: string }
  | {
      type: 'maintenance.scheduled' | 'maintenance.started' | 'maintenance.ended';
      at: number;
      name: string;
      title: string;
      description: string | undefined;
      start: number;
      end: number;
      /** The public components it covers (the only ones named). */
      components: string[];
    };

/** The public components an update is about: a subscriber following none of them does not get it. */
export const componentsOf = (u: SubscriberUpdate): string[] => ('component' in u ? [u.component] : u.components);

/** The status page the messages link to. */
export interface PageRef {
  title: string;
  /** `page.url`, without a trailing slash. */
  url: string;
}

/** Most updates one message lists; the rest are counted. */
export const MAX_LISTED = 50;

const at = (ms: number) => minute(new Date(ms).toISOString());
const STATUS_WORDS: Record<UpdateStatus, string> = {
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
};

/** One line saying what happened, and the page it links to. */
function headline(u: SubscriberUpdate, page: PageRef): { text: string; link: string } {
  const component = (name: string) => `${page.url}/components/${encodeURIComponent(name)}`;
  switch (u.type) {
    case 'incident.opened':
      return { text: `${u.component} is down (since ${at(u.at)})`, link: component(u.component) };
    case 'incident.resolved':
      return {
        text: `${u.component} is back up (down ${formatDuration(u.at - u.start)}, until ${at(u.at)})`,
        link: component(u.component),
      };
    case 'incident.updated': {
      const status = u.status === null ? '' : ` (${STATUS_WORDS[u.status]})`;
      return { text: `Update on ${u.component}${status}: ${u.message}`, link: component(u.component) };
    }
    default: {
      const what = {
        'maintenance.scheduled': 'Scheduled maintenance',
        'maintenance.started': 'Maintenance in progress',
        'maintenance.ended': 'Maintenance completed',
      }[u.type];
      const when = u.type === 'maintenance.ended' ? `ended ${at(u.at)}` : `${at(u.start)} to ${at(u.end)}`;
      return {
        text: `${what}: ${u.title}, ${when}; affects ${u.components.join(', ')}`,
        link: `${page.url}/#m-${encodeURIComponent(u.name)}`,
      };
    }
  }
}

/** The subject: the one update's line, or the count and the first line, after the page's title. */
function subject(updates: readonly SubscriberUpdate[], page: PageRef): string {
  const [first] = updates;
  const line = first === undefined ? '' : (headline(first, page).text.split('\n')[0] ?? '');
  const short = line.length > 100 ? `${line.slice(0, 99)}…` : line;
  return updates.length === 1 ? `[${page.title}] ${short}` : `[${page.title}] ${updates.length} updates: ${short}, …`;
}

/**
 * The e-mail of `updates` to one subscriber: plain text and simple HTML (every value escaped),
 * each update with its link, and the unsubscribe link at the end.
 */
export function updateMail(updates: readonly SubscriberUpdate[], page: PageRef, unsubscribe: string): EmailMessage {
  const listed = updates.slice(0, MAX_LISTED).map((u) => headline(u, page));
  const more = updates.length - listed.length;
  const text = [
    ...listed.map((h) => `${h.text}\n  ${h.link}`),
    ...(more > 0 ? [`…and ${more} more on ${page.url}`] : []),
    `-- \nYou get this because you subscribed to ${page.title} (${page.url}).\nUnsubscribe: ${unsubscribe}`,
  ].join('\n\n');
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif">',
    `<h2><a href="${escapeHtml(page.url)}">${escapeHtml(page.title)}</a></h2>`,
    `<ul>${listed.map((h) => `<li><a href="${escapeHtml(h.link)}">${escapeHtml(h.text)}</a></li>`).join('')}</ul>`,
    more > 0 ? `<p>…and ${more} more on <a href="${escapeHtml(page.url)}">the status page</a></p>` : '',
    `<p style="color: #666">You get this because you subscribed to ${escapeHtml(page.title)}. <a href="${escapeHtml(unsubscribe)}">Unsubscribe</a></p>`,
    '</body></html>',
  ].join('\n');
  return { subject: subject(updates, page), text, html };
}

/** The JSON body a webhook subscriber gets: every update (as data, with its line of text), the page and the unsubscribe URL. */
export function updateBody(updates: readonly SubscriberUpdate[], page: PageRef, unsubscribe: string): string {
  return JSON.stringify({
    version: 1,
    type: 'updates',
    page,
    updates: updates.map((u) => {
      const { text, link } = headline(u, page);
      const times =
        'start' in u ? { start: new Date(u.start).toISOString(), ...('end' in u ? { end: new Date(u.end).toISOString() } : {}) } : {};
      return { ...u, at: new Date(u.at).toISOString(), ...times, text, url: link };
    }),
    unsubscribe,
  });
}

/** The double opt-in e-mail: the link that confirms, how long it lasts, and what to do if it was not you. */
export function confirmationMail(page: PageRef, confirm: string, ttl: number, components: readonly string[] | null): EmailMessage {
  const scope = components === null ? 'every component' : components.join(', ');
  const lines = [
    `Someone, hopefully you, asked for the incident and maintenance updates of ${page.title} (${scope}) to be sent to this address.`,
    `To confirm, open this link within ${formatDuration(ttl)}:`,
  ];
  const ignore = 'If you did not ask, ignore this message: nothing more will be sent.';
  return {
    subject: `[${page.title}] Confirm your subscription`,
    text: `${lines.join('\n\n')}\n\n${confirm}\n\n${ignore}`,
    html: [
      '<!doctype html>',
      '<html><body style="font-family: sans-serif">',
      ...lines.map((l) => `<p>${escapeHtml(l)}</p>`),
      `<p><a href="${escapeHtml(confirm)}">Confirm the subscription</a></p>`,
      `<p style="color: #666">${escapeHtml(ignore)}</p>`,
      '</body></html>',
    ].join('\n'),
  };
}
