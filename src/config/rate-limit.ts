import { z } from 'zod';
import { clientKeyer, type TrustProxy } from '../ratelimit/index.js';
import { duration } from './duration.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** One allowance per client address: `limit` requests per sliding `window`; `enabled: false` turns it off. */
function allowance(limit: number, window: number) {
  return z
    .strictObject({
      enabled: z.boolean().default(true),
      limit: z.int().min(1).max(1_000_000).default(limit),
      window: duration({ min: 1_000, max: 24 * HOUR })
        .refine(Number.isInteger, 'must be a whole number of ms')
        .default(window),
    })
    .prefault({});
}

const TRUST_HINT = 'expected false, true, a number of proxy hops, or addresses and CIDRs (loopback, 10.0.0.0/8)';

/** Does proxy-addr take `trust`? (Its message quotes the value, which may come from the environment.) */
function compiles(trust: TrustProxy): boolean {
  try {
    clientKeyer({ trustProxy: trust });
    return true;
  } catch {
    return false;
  }
}

/** `trustProxy`: compiled here, so a mistyped address is a problem at its path, not a failure at start. */
const trustProxy = z.unknown().transform((value, ctx): TrustProxy => {
  if (typeof value === 'boolean' || (Number.isInteger(value) && (value as number) >= 0)) return value as TrustProxy;
  if (typeof value === 'string' && compiles(value)) return value;
  if (Array.isArray(value) && value.length > 0) {
    const bad = value.findIndex((v) => typeof v !== 'string' || !compiles(v));
    if (bad === -1) return value as string[];
    ctx.issues.push({ code: 'custom', path: [bad], message: TRUST_HINT, input: value });
    return z.NEVER;
  }
  ctx.issues.push({ code: 'custom', message: TRUST_HINT, input: value });
  return z.NEVER;
});

/** `server.rateLimit`: what each client address may ask of `nines serve` (docs/rate-limiting.md#in-nines-serve). */
export const serverRateLimitSchema = z
  .strictObject({
    /** Whose `X-Forwarded-For` to believe when telling clients apart; false: the socket's address. */
    trustProxy: trustProxy.default(false),
    /** Token-protected writes (and reads carrying a token), counted before the token is checked. */
    writes: allowance(30, MINUTE),
    /** Public writes that may send a message (`POST /subscribe`). */
    publicWrites: allowance(10, HOUR),
    /** Everything else but the endpoints and `/metrics`: the status page, badges, feed and API reads. */
    reads: allowance(600, MINUTE),
  })
  .prefault({});

/** The validated `server.rateLimit`. */
export type ServerRateLimitConfig = z.output<typeof serverRateLimitSchema>;
