import { z } from 'zod';
import type { Placeholder } from './condition-ast.js';
import { duration } from './duration.js';

/** A zod string that must be a URL with one of `protocols` (the value is never echoed: it may hold a password). */
export function url(protocols: readonly string[], hint: string) {
  return z.string().refine((text) => {
    // WHATWG URL parsing drops tabs and newlines; a URL with whitespace is a mistake, not a URL
    if (/\s/.test(text) || !URL.canParse(text)) return false;
    const parsed = new URL(text);
    return protocols.includes(parsed.protocol) && parsed.hostname !== '';
  }, `expected ${hint}`);
}

/** A host name or IP address. */
export const host = z.string().regex(/^\S+$/, 'expected a host name or IP address');
/** A TCP port. */
export const port = z.int().min(1).max(65_535);
const status = z.int().min(100).max(599);
const ratio = z.number().min(0).max(1);

// One strict object per built-in check of src/health/checks, with exactly its options (those a YAML file can express).
const http = z.strictObject({
  type: z.literal('http'),
  /** Target URL (http or https). */
  url: url(['http:', 'https:'], 'an http:// or https:// URL'),
  /** Request method. Default GET. */
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).optional(),
  /** Request headers. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Status codes that pass: one or a list. Default 200. */
  expectStatus: z.union([status, z.array(status).min(1)]).optional(),
  /** Substring the body must contain. */
  expectBody: z.string().min(1).optional(),
});

const tcp = z.strictObject({ type: z.literal('tcp'), host, port });

const dns = z.strictObject({ type: z.literal('dns'), hostname: host });

const tlsCertificate = z.strictObject({
  type: z.literal('tlsCertificate'),
  host,
  /** Default 443. */
  port: port.optional(),
  /** Unhealthy under this many days left. Default 14. */
  minDaysLeft: z.number().min(0).optional(),
  /** Degraded under this many days left. Default 2 × minDaysLeft. */
  degradedDaysLeft: z.number().min(0).optional(),
  /** SNI name. Default: host. */
  servername: z.string().min(1).optional(),
  /** Fail when the chain is not trusted. Default false. */
  rejectUnauthorized: z.boolean().optional(),
});

const postgres = z.strictObject({
  type: z.literal('postgres'),
  url: url(['postgres:', 'postgresql:'], 'a postgres:// or postgresql:// URL'),
});

const redis = z.strictObject({
  type: z.literal('redis'),
  url: url(['redis:', 'rediss:'], 'a redis:// or rediss:// URL'),
  /** TCP connect timeout. Default 2s. */
  connectTimeout: duration({ min: 1 }).optional(),
});

const disk = z.strictObject({
  type: z.literal('disk'),
  path: z.string().min(1),
  minFreeBytes: z.int().min(0).optional(),
  minFreeRatio: ratio.optional(),
});

const memory = z.strictObject({ type: z.literal('memory'), maxHeapRatio: ratio.optional(), maxRssBytes: z.int().min(1).optional() });

const eventLoop = z.strictObject({ type: z.literal('eventLoop'), maxLagMs: z.number().positive().optional() });

const CHECKS = [http, tcp, dns, tlsCertificate, postgres, redis, disk, memory, eventLoop] as const;

/** Every check type, as written in `check.type`. */
export const CHECK_TYPES = CHECKS.map((schema) => schema.shape.type.value);

/** `check:` of a component: a union on `type`, each member strict so a misspelt option is an error. */
export const checkSchema = z.discriminatedUnion('type', [...CHECKS], {
  error: (issue) => (issue.code === 'invalid_union' ? `unknown check type; expected one of ${CHECK_TYPES.join(', ')}` : undefined),
});

/** A component's check, validated. */
export type CheckConfig = z.output<typeof checkSchema>;

/** One check type name. */
export type CheckType = CheckConfig['type'];

/** Which placeholders each check type provides to conditions; the monitor fills exactly these. */
export const PLACEHOLDERS_BY_CHECK: Record<CheckType, readonly Placeholder[]> = {
  http: ['STATUS', 'RESPONSE_TIME', 'BODY', 'CERTIFICATE_EXPIRATION', 'CONNECTED', 'IP'],
  tcp: ['RESPONSE_TIME', 'CONNECTED', 'IP'],
  dns: ['RESPONSE_TIME', 'IP', 'DNS_RCODE'],
  tlsCertificate: ['RESPONSE_TIME', 'CERTIFICATE_EXPIRATION', 'CONNECTED', 'IP'],
  postgres: ['RESPONSE_TIME', 'CONNECTED'],
  redis: ['RESPONSE_TIME', 'CONNECTED'],
  disk: ['RESPONSE_TIME'],
  memory: ['RESPONSE_TIME'],
  eventLoop: ['RESPONSE_TIME'],
};
