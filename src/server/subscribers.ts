import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatDuration } from '../config/index.js';
import type { SubscribeInput, SubscribeProblem, Subscriptions } from '../notify/subscriptions.js';
import { linkRoute, publicWriteRoute, writeRoute } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import { PAGE_HEADERS } from './page/assets.js';
import { type Html, html } from './page/html.js';
import { page } from './page/render.js';
import { confirmForm, unsubscribeForm } from './page/subscribe.js';
import { ID_PARAMS } from './schemas.js';

/** A token as nines makes them: 32 random bytes, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const FORM = 'application/x-www-form-urlencoded';

const isForm = (request: FastifyRequest) => request.headers['content-type']?.toLowerCase().startsWith(FORM) === true;

/** What a visitor sent, from the page's form or as JSON; undefined when it is neither shape. */
function inputOf(body: unknown): SubscribeInput | undefined {
  if (body instanceof URLSearchParams)
    return { email: body.get('email') ?? undefined, webhook: body.get('webhook') ?? undefined, components: body.getAll('components') };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { email, webhook, components, ...rest } = body as Record<string, unknown>;
  const text = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= 2000);
  const list =
    components === undefined || (Array.isArray(components) && components.length <= 200 && components.every((c) => typeof c === 'string'));
  if (Object.keys(rest).length > 0 || !text(email) || !text(webhook) || !list) return undefined;
  return { email: email as string | undefined, webhook: webhook as string | undefined, components: components as string[] | undefined };
}

/** The page of an answer to a visitor, in the status page's style and without its refresh (it is an answer, not a status). */
/** A link's token: in the query (the link itself, RFC 8058's one-click POST) or in a form's body. */
function tokenOf(request: FastifyRequest<{ Querystring: { token?: string } }>): unknown {
  const body = request.body instanceof URLSearchParams ? request.body : undefined;
  return request.query.token ?? body?.get('token') ?? (request.body as { token?: unknown } | undefined)?.token;
}

function answerPage(ctx: ServerContext, reply: FastifyReply, status: number, title: string, body: Html) {
  const config = ctx.monitor.config.page;
  const main = html`<section class="sub" aria-labelledby="h-sub"><h2 id="h-sub">${title}</h2>${body}<p><a href="/">← ${config.title}</a></p></section>`;
  return reply
    .code(status)
    .headers(PAGE_HEADERS)
    .send(page({ ...config, refresh: 0 }, `${title} · ${config.title}`, main, ctx.clock.now()));
}

/** The subscriptions, or a 404 while visitors may not subscribe. */
function offered(ctx: ServerContext): Subscriptions {
  const s = ctx.subscriptions;
  const kinds = s?.kinds();
  if (s === undefined || kinds === undefined || (!kinds.email && !kinds.webhook))
    throw new HttpError(404, 'subscriptions are not offered here');
  return s;
}

/**
 * Status page subscribers. Public, without the token: `POST /subscribe` (the page's form or JSON;
 * the answer is the same whether the address was subscribed before), `GET /subscribe/confirm` (a button) and `POST /subscribe/confirm`,
 * `GET /unsubscribe` (a one-click page) and `POST /unsubscribe` (also RFC 8058's one-click POST
 * to the List-Unsubscribe URL). With the token: `GET /api/subscribers` (counts and masked
 * addresses) and `DELETE /api/subscribers/:id`.
 */
export function subscriberRoutes(app: FastifyInstance, ctx: ServerContext): void {
  // its own scope: only these routes read form posts
  void app.register(async (scope) => {
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 8192 }, (_request, body, done) =>
      done(null, new URLSearchParams(body as string)),
    );
    // RFC 8058 lets a mail client send its one-click POST as multipart; the token is in the URL, so the body is not read
    scope.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 8192 }, (_request, _body, done) =>
      done(null, undefined),
    );
    publicRoutes(scope, ctx);
  });

  app.get('/api/subscribers', writeRoute(ctx.monitor), async () => {
    if (ctx.subscriptions === undefined) throw new HttpError(404, 'nines serve runs no subscriptions');
    return ctx.subscriptions.summary();
  });

  app.delete<{ Params: { id: number } }>(
    '/api/subscribers/:id',
    { schema: { params: ID_PARAMS }, ...writeRoute(ctx.monitor) },
    async (request) => {
      if (ctx.subscriptions === undefined || !(await ctx.subscriptions.remove(request.params.id)))
        throw new HttpError(404, `unknown subscriber: ${request.params.id}`);
      return { deleted: true };
    },
  );
}

function publicRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const notValid = (reply: FastifyReply) =>
    answerPage(ctx, reply, 404, 'Link not valid', html`<p>This link is not valid: it expired, was used already, or was mistyped.</p>`);

  app.post('/subscribe', publicWriteRoute(), async (request, reply) => {
    const form = isForm(request);
    const subscriptions = form ? ctx.subscriptions : offered(ctx);
    const kinds = subscriptions?.kinds();
    if (subscriptions === undefined || kinds === undefined || (!kinds.email && !kinds.webhook))
      return answerPage(ctx, reply, 404, 'Not offered', html`<p>This status page takes no subscriptions.</p>`);
    const input = inputOf(request.body);
    const problems: SubscribeProblem[] =
      input === undefined
        ? [{ path: '', message: 'expected { email } or { webhook }, with optional components' }]
        : await subscriptions.subscribe(input);
    if (problems.length > 0) {
      if (!form)
        throw new HttpError(
          400,
          'invalid request',
          problems.map((p) => ({ in: 'body', ...p })),
        );
      return answerPage(ctx, reply, 400, 'Not subscribed', html`<ul>${problems.map((p) => html`<li>${p.message}</li>`)}</ul>`);
    }
    const ttl = formatDuration(ctx.monitor.config.subscribers.confirmTtl);
    const what = input?.webhook ? 'a challenge is posted to the webhook' : 'a message with a link to confirm is on its way';
    const message = `If it can be subscribed, ${what}; the link is valid for ${ttl}. Nothing is sent before it is confirmed.`;
    if (!form) return reply.code(202).send({ status: 'pending', message });
    return answerPage(ctx, reply, 202, input?.webhook ? 'Confirm the webhook' : 'Check your inbox', html`<p>${message}</p>`);
  });

  app.get<{ Querystring: { token?: string } }>('/subscribe/confirm', async (request, reply) => {
    const token = request.query.token ?? '';
    if (!TOKEN.test(token)) return notValid(reply);
    return answerPage(ctx, reply, 200, 'Confirm', confirmForm(token));
  });

  app.post<{ Querystring: { token?: string } }>('/subscribe/confirm', linkRoute(), async (request, reply) => {
    const token = tokenOf(request);
    const kind =
      ctx.subscriptions !== undefined && typeof token === 'string' && TOKEN.test(token)
        ? await ctx.subscriptions.confirm(token)
        : undefined;
    if (kind === undefined) return notValid(reply);
    const how = kind === 'email' ? 'Every message has a link to unsubscribe with one click.' : 'Every update carries its unsubscribe URL.';
    return answerPage(ctx, reply, 200, 'Subscribed', html`<p>You will get the incident and maintenance updates of this page. ${how}</p>`);
  });

  app.get<{ Querystring: { token?: string } }>('/unsubscribe', async (request, reply) => {
    const token = request.query.token ?? '';
    if (!TOKEN.test(token)) return notValid(reply);
    return answerPage(ctx, reply, 200, 'Unsubscribe', unsubscribeForm(token));
  });

  app.post<{ Querystring: { token?: string } }>('/unsubscribe', linkRoute(), async (request, reply) => {
    // RFC 8058: the token is in the List-Unsubscribe URL and the body says List-Unsubscribe=One-Click; the page's form sends it in the body
    const token = tokenOf(request);
    const gone =
      ctx.subscriptions !== undefined && typeof token === 'string' && TOKEN.test(token) && (await ctx.subscriptions.unsubscribe(token));
    if (!gone) return notValid(reply);
    return answerPage(ctx, reply, 200, 'Unsubscribed', html`<p>You will get no more updates from this page.</p>`);
  });
}
