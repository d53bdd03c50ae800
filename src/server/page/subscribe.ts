import { type Html, html } from './html.js';

/** The form at the foot of `/`: a plain POST, so it works without JavaScript. */
export function subscribeForm(kinds: { email: boolean; webhook: boolean }): Html {
  const email = kinds.email
    ? html`<form method="post" action="/subscribe" id="sub-email"><label for="sub-email-address">E-mail</label><input id="sub-email-address" type="email" name="email" required maxlength="254" autocomplete="email" placeholder="you@example.com"><button type="submit">Subscribe</button></form>`
    : '';
  const webhook = kinds.webhook
    ? html`<details${kinds.email ? '' : ' open'}><summary>${kinds.email ? 'Or a webhook' : 'Webhook'}</summary><form method="post" action="/subscribe" id="sub-webhook"><label for="sub-webhook-url">URL</label><input id="sub-webhook-url" type="url" name="webhook" required maxlength="2000" placeholder="https://hooks.example.com/status"><button type="submit">Subscribe</button></form><p class="meta">nines posts a challenge to it; answer with the challenge in the body (or open the link in it) to confirm. Updates are JSON, signed with the secret the challenge carries.</p></details>`
    : '';
  return html`<section data-k="subscribe" class="sub" aria-labelledby="h-sub"><h2 id="h-sub">Get updates</h2><p class="meta">Incidents and maintenance, as they happen. E-mail is confirmed by a link we send; every message has a one-click unsubscribe.</p>${email}${webhook}</section>`;
}

/** The one-click unsubscribe page of `/unsubscribe?token=`: a button that POSTs, so a link scanner's GET changes nothing. */
export function unsubscribeForm(token: string): Html {
  return html`<p>Stop getting updates at this address?</p><form method="post" action="/unsubscribe" id="unsubscribe"><input type="hidden" name="token" value="${token}"><button type="submit">Unsubscribe</button></form>`;
}

/** The page of a confirmation link: a button that POSTs, so a mail scanner opening the link subscribes nobody. */
export function confirmForm(token: string): Html {
  return html`<p>Get the incident and maintenance updates of this page?</p><form method="post" action="/subscribe/confirm" id="confirm"><input type="hidden" name="token" value="${token}"><button type="submit">Confirm the subscription</button></form>`;
}
