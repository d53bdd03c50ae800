import type { NotificationBody } from './payload.js';
import { type AlertSummary, alertSummaries, kindText, title } from './summary.js';

/** Slack's limit of blocks in one message. */
export const SLACK_MAX_BLOCKS = 50;
/** Slack's limits on a header's text and a section's text and field. */
const HEADER_MAX = 150;
const TEXT_MAX = 3000;
const FIELD_MAX = 2000;

/** A Block Kit block, as far as nines writes them. */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: true } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string }; fields?: Array<{ type: 'mrkdwn'; text: string }> }
  | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> };

/** The JSON a Slack-compatible incoming webhook takes: `text` for notifications and clients without Block Kit, `blocks` for Slack. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** `text` with Slack's control characters escaped, so a label can neither link nor mention. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** `<url|text>` for an absolute http(s) URL, else the text alone (the status page's address is unknown). */
function link(url: string, text: string): string {
  return /^https?:\/\//.test(url) ? `<${escapeMrkdwn(url).replaceAll('|', '%7C')}|${text}>` : text;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const icon = (a: AlertSummary) => (a.status === 'firing' ? ':fire:' : ':white_check_mark:');

/** One alert's headline: what happened to it and its summary. */
function headline(a: AlertSummary): string {
  const summary = a.summary === undefined ? '' : `: ${escapeMrkdwn(a.summary)}`;
  return `${icon(a)} *${link(a.url, escapeMrkdwn(a.alertname))}* ${kindText(a.kind)}${summary}`;
}

/**
 * One group's message as Slack Block Kit: a header with the title (`[FIRING:2]
 * NinesErrorBudgetBurn api-slo`), a section per alert (firing first) with its component, SLO,
 * severity and figures as fields, and a context line linking the status page; past Slack's 50
 * blocks, the last section says how many more there are. `text` holds the same in plain lines.
 */
export function slackMessage(message: NotificationBody): SlackMessage {
  const heading = title(message);
  const alerts = alertSummaries(message);
  const room = SLACK_MAX_BLOCKS - 2; // the header and the context
  const shown = alerts.length <= room ? alerts : alerts.slice(0, room - 1);
  const more = alerts.length - shown.length;
  const page = message.externalURL === '' ? 'sent by nines' : `${link(message.externalURL, 'Status page')} · sent by nines`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(heading, HEADER_MAX), emoji: true } },
    ...shown.map(
      (a): SlackBlock => ({
        type: 'section',
        text: { type: 'mrkdwn', text: cut(headline(a), TEXT_MAX) },
        fields: a.facts.map(([name, value]) => ({
          type: 'mrkdwn',
          text: cut(`*${escapeMrkdwn(name)}*\n${escapeMrkdwn(value)}`, FIELD_MAX),
        })),
      }),
    ),
    ...(more > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: `…and ${more} more` } } as const] : []),
    { type: 'context', elements: [{ type: 'mrkdwn', text: page }] },
  ];
  const lines = shown.map(
    (a) => `${icon(a)} ${escapeMrkdwn(a.alertname)} ${kindText(a.kind)}: ${a.facts.map(([n, v]) => `${n} ${escapeMrkdwn(v)}`).join(', ')}`,
  );
  if (more > 0) lines.push(`…and ${more} more`);
  return { text: [escapeMrkdwn(heading), ...lines, page].join('\n'), blocks };
}
