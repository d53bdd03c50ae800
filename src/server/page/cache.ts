import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { Negotiator } from '@fastify/accept-negotiator';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.js';
import { PAGE_HEADERS } from './assets.js';

type Encoding = 'br' | 'gzip';

const negotiator = new Negotiator<Encoding>({ supportedValues: ['br', 'gzip'] });
const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);
// On libuv's thread pool, not the event loop the checks run on: quality 6 costs ~12 ms for the
// 500 KB page of 50 components and makes it 46 KB (quality 4, @fastify/compress's, 55 KB).
const compressors: Record<Encoding, (body: Buffer) => Promise<Buffer>> = {
  br: (body) => brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 6, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
  gzip: (body) => gzipped(body),
};

/** Renders closer together than this are not made even when what is shown changed (a flapping component). */
export const MIN_PAGE_AGE = 250;

/** One rendered page, shared by every request that gets it. */
export class CachedPage {
  /** Weak validator: the same for each encoding of this body. */
  readonly etag: string;
  readonly #encoded = new Map<Encoding, Promise<Buffer>>();

  constructor(
    /** When it was rendered (clock ms). */
    readonly at: number,
    /** What it shows that must never be stale (statuses, open incidents), as a string. */
    readonly state: string,
    readonly body: Buffer,
  ) {
    this.etag = `W/"${createHash('sha1').update(body).digest('base64url')}"`;
  }

  /** The body compressed as `encoding`, made once on first demand. */
  encoded(encoding: Encoding): Promise<Buffer> {
    let out = this.#encoded.get(encoding);
    if (out === undefined) {
      out = compressors[encoding](this.body);
      this.#encoded.set(encoding, out);
    }
    return out;
  }
}

/**
 * Rendered pages by path, so that any number of viewers cost at most one render per `maxAge`:
 * a page on a big screen or a crowd asking "is it down?" must not slow the checks. A page is
 * rendered anew once older than `maxAge`, or as soon as its `state` changed (after
 * {@link MIN_PAGE_AGE}), so a status change shows at once; concurrent requests share one render.
 */
export class PageCache {
  readonly #pages = new Map<string, CachedPage>();
  readonly #rendering = new Map<string, Promise<CachedPage>>();

  constructor(private readonly clock: Clock) {}

  /** The page at `path` showing `state`, from the cache or from `render()`. */
  get(path: string, state: string, maxAge: number, render: () => Promise<string>): Promise<CachedPage> {
    const now = this.clock.now();
    const page = this.#pages.get(path);
    if (page !== undefined && now - page.at < (page.state === state ? maxAge : MIN_PAGE_AGE)) return Promise.resolve(page);
    const key = `${path}\n${state}`;
    let pending = this.#rendering.get(key);
    if (pending === undefined) {
      pending = render()
        .then((html) => {
          const fresh = new CachedPage(now, state, Buffer.from(html));
          this.#pages.set(path, fresh);
          return fresh;
        })
        .finally(() => this.#rendering.delete(key));
      this.#rendering.set(key, pending);
    }
    return pending;
  }

  /** Forgets every page (the config changed: pages of removed components must go). */
  clear(): void {
    this.#pages.clear();
  }
}

/** Does `If-None-Match` name `etag`? Weak comparison, as RFC 9110 asks for GET. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === bare;
  });
}

/** Sends `page`: 304 when the client holds it, else the body in the best encoding the client accepts. */
export async function sendPage(request: FastifyRequest, reply: FastifyReply, page: CachedPage): Promise<FastifyReply> {
  reply.headers(PAGE_HEADERS).header('etag', page.etag).header('vary', 'accept-encoding');
  if (matches(request.headers['if-none-match'], page.etag)) return reply.code(304).send();
  const accept = request.headers['accept-encoding'];
  const encoding = accept === undefined ? null : negotiator.negotiate(accept);
  if (encoding === null) return reply.code(200).send(page.body);
  // @fastify/compress leaves a reply alone that already has a content-encoding
  return reply
    .code(200)
    .header('content-encoding', encoding)
    .send(await page.encoded(encoding));
}
