import { createTransport } from 'nodemailer';
import type { EmailConfig } from '../config/notify.js';
import { type Clock, systemClock } from '../core/clock.js';
import { type Delivery, deliverer } from './delivery.js';
import type { NotificationBody } from './payload.js';
import { type AlertSummary, alertSummaries, kindText, title } from './summary.js';

/** One group's message as an e-mail. */
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

const isLink = (url: string) => /^https?:\/\//.test(url);

/** `text` safe in HTML text and in a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

const headline = (a: AlertSummary) => `${a.alertname} ${kindText(a.kind)}${a.summary === undefined ? '' : `: ${a.summary}`}`;

function htmlAlert(a: AlertSummary): string {
  const name = isLink(a.url) ? `<a href="${escapeHtml(a.url)}">${escapeHtml(a.alertname)}</a>` : escapeHtml(a.alertname);
  const rest = escapeHtml(headline(a).slice(a.alertname.length));
  const rows = a.facts.map(([n, v]) => `<tr><th align="left">${escapeHtml(n)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<h3>${name}${rest}</h3>\n<table>${rows}</table>`;
}

/**
 * One group's message as an e-mail: the subject in Alertmanager's style (`[FIRING:2]
 * NinesErrorBudgetBurn api-slo`), and in plain text and in simple HTML (every value escaped) each
 * alert, firing first, with its facts and a link to its component on the status page.
 */
export function emailMessage(message: NotificationBody): EmailMessage {
  const subject = title(message);
  const alerts = alertSummaries(message);
  const page = message.externalURL;
  const text = [
    subject,
    ...alerts.map((a) => [headline(a), ...a.facts.map(([n, v]) => `  ${n}: ${v}`), ...(isLink(a.url) ? [`  ${a.url}`] : [])].join('\n')),
    `${isLink(page) ? `Status page: ${page}\n` : ''}-- \nsent by nines`,
  ].join('\n\n');
  const html = [
    '<!doctype html>',
    '<html><body style="font-family: sans-serif">',
    `<h2>${escapeHtml(subject)}</h2>`,
    ...alerts.map(htmlAlert),
    `<p>${isLink(page) ? `<a href="${escapeHtml(page)}">Status page</a> · ` : ''}sent by nines</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

/** An SMTP answer that would be the same next time: the server refused the sender, a recipient or the message (5xx). */
const retryable = (error: unknown) => {
  const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
  if (code === 'ECONFIG') return false;
  return !((code === 'EENVELOPE' || code === 'EMESSAGE') && typeof responseCode === 'number' && responseCode >= 500);
};

/**
 * Sends e-mail through one SMTP server with nodemailer: a connection per message (STARTTLS unless
 * `requireTLS: false`, TLS from the start with `secure`), each attempt under `smtp.timeout` and
 * retried with backoff by nines' own retry policy, a refused login included (a password being
 * rotated); a 5xx refusal of the sender, a recipient or the message is not retried. Never rejects;
 * the password never reaches the error.
 */
export class EmailSender {
  readonly #config: EmailConfig;
  readonly #transport;
  readonly #deliver;

  /** `name`: the receiver's, for the retry policy's metrics. */
  constructor(name: string, email: EmailConfig, options: { clock?: Clock } = {}) {
    const { smtp } = email;
    this.#config = email;
    this.#transport = createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTLS,
      ...(smtp.user === undefined || smtp.password === undefined ? {} : { auth: { user: smtp.user, pass: smtp.password } }),
      // a backstop: the timeout policy aborts each attempt on nines' clock
      connectionTimeout: smtp.timeout,
      greetingTimeout: smtp.timeout,
      socketTimeout: smtp.timeout,
      logger: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    const password = smtp.password;
    // a server may echo what it was sent: the password, or the AUTH PLAIN/LOGIN strings carrying it
    const secrets =
      password === undefined
        ? []
        : [password, base64(password), base64(`\u0000${smtp.user ?? ''}\u0000${password}`), base64(`${smtp.user ?? ''}\u0000${password}`)];
    this.#deliver = deliverer(name, { ...email, timeout: smtp.timeout }, { clock: options.clock ?? systemClock, retryable, secrets });
  }

  /**
   * Sends `mail` to every recipient, or only to `to` with extra `headers` (a subscriber's, with its
   * List-Unsubscribe); resolves with the attempts made and, if all failed, why.
   */
  send(mail: EmailMessage, envelope: { to?: readonly string[]; headers?: Record<string, string> } = {}): Promise<Delivery> {
    const to = [...(envelope.to ?? this.#config.to)];
    return this.#deliver(async (signal) => {
      await this.#transport.sendMail({
        from: this.#config.from,
        to,
        ...mail,
        ...(envelope.headers ? { headers: envelope.headers } : {}),
        signal,
      });
    });
  }
}

const base64 = (text: string) => Buffer.from(text).toString('base64');
