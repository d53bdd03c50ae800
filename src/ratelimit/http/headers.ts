import { type BareItem, serializeList } from 'structured-headers';

/** One quota policy as `RateLimit-Policy` advertises it (draft-ietf-httpapi-ratelimit-headers-10, section 3). */
export interface QuotaPolicy {
  /** The policy's name, sent as a String; it ties `RateLimit` to this policy. */
  name: string;
  /** `q`: the quota allocated per window. */
  quota: number;
  /** `w`: the window, in seconds. */
  windowSeconds?: number;
  /** `qu`: what a unit of quota is (the draft's default is "requests"). */
  unit?: string;
  /** `pk`: the partition key, a byte sequence; say which client it is only if the client may know. */
  partitionKey?: Uint8Array;
}

/** One policy's live counters as `RateLimit` reports them (draft-10, section 4). */
export interface QuotaState {
  name: string;
  /** `r`: the quota left. */
  remaining: number;
  /** `t`: seconds until the quota is restored. */
  resetSeconds?: number;
  partitionKey?: Uint8Array;
}

const pk = (key: Uint8Array | undefined): Array<[string, BareItem]> =>
  key === undefined ? [] : [['pk', key.buffer.slice(key.byteOffset, key.byteOffset + key.byteLength) as ArrayBuffer]];

/** Whole seconds, never negative: the fields are Integers. */
const whole = (n: number) => Math.max(0, Math.ceil(n));

/** `RateLimit-Policy: "default";q=100;w=60` for `policies`, as Structured Field Values (RFC 9651). */
export function rateLimitPolicyHeader(policies: readonly QuotaPolicy[]): string {
  return serializeList(
    policies.map((p) => [
      p.name,
      new Map<string, BareItem>([
        ['q', Math.floor(p.quota)],
        ...(p.unit === undefined ? [] : ([['qu', p.unit]] as Array<[string, BareItem]>)),
        ...(p.windowSeconds === undefined ? [] : ([['w', whole(p.windowSeconds)]] as Array<[string, BareItem]>)),
        ...pk(p.partitionKey),
      ]),
    ]),
  );
}

/** `RateLimit: "default";r=50;t=30` for `states`. */
export function rateLimitHeader(states: readonly QuotaState[]): string {
  return serializeList(
    states.map((s) => [
      s.name,
      new Map<string, BareItem>([
        ['r', Math.max(0, Math.floor(s.remaining))],
        ...(s.resetSeconds === undefined ? [] : ([['t', whole(s.resetSeconds)]] as Array<[string, BareItem]>)),
        ...pk(s.partitionKey),
      ]),
    ]),
  );
}

/**
 * `Retry-After` in whole seconds for a refusal that may be retried after `retryAfterMs`: rounded up,
 * so never earlier than the limiter allows, plus up to `jitterSeconds` more (`random` in [0, 1)), so
 * clients refused together do not come back together. Jitter only adds delay.
 */
export function retryAfterSeconds(retryAfterMs: number, jitterSeconds = 0, random: () => number = Math.random): number {
  const base = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return base + (jitterSeconds > 0 ? Math.floor(random() * (jitterSeconds + 1)) : 0);
}

/** The `application/problem+json` body (RFC 9457) of a 429, with when to come back. */
export function tooManyRequestsProblem(
  retryAfter: number,
  detail = 'the rate limit for this client is exhausted',
): Record<string, unknown> {
  return { type: 'about:blank', title: 'Too Many Requests', status: 429, detail, retryAfter };
}
