import { NAME_PATTERN } from '../config/schema.js';
import type { UpdateStatus } from '../monitor/history.js';
import { TIME_SCHEMA } from './time.js';

/** Largest page a list route returns. */
export const MAX_LIMIT = 1000;

/** Page size: 1 to {@link MAX_LIMIT}, default 50. */
const LIMIT = { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 50 } as const;

/** `:name` of a component route. */
export const NAME_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: NAME_PATTERN.source, maxLength: 200 } },
} as const;

/** `?from=&to=` of a custom figures window, and `?at=`, the instant the figures are evaluated at. */
export const WINDOW_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { from: TIME_SCHEMA, to: TIME_SCHEMA, at: TIME_SCHEMA },
} as const;

/** `?at=` of a figures route: the instant they are evaluated at (default now). */
export const AT_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { at: TIME_SCHEMA },
} as const;

/** `?limit=&before=` of the checks list; `before` is a time or the previous page's `next` (parsed by the route). */
export const CHECKS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: LIMIT, before: { type: 'string', minLength: 1, maxLength: 60 } },
} as const;

/** `?component=&since=&limit=&before=` of the incidents list; `before` is an incident id (the previous page's `next`). */
export const INCIDENTS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    component: { type: 'string', pattern: NAME_PATTERN.source, maxLength: 200 },
    since: TIME_SCHEMA,
    limit: LIMIT,
    before: { type: 'integer', minimum: 1 },
  },
} as const;

/** `:id` of an incident route. */
export const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
} as const;

/** Who writes, in their own words (a name, an e-mail address): never taken from the token. */
const BY = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

/** Body of `POST /api/incidents/:id/acknowledge`; may be left out. */
export const ACKNOWLEDGE_BODY = { type: 'object', additionalProperties: false, properties: { by: BY } } as const;

/** Statuspage's words for where the work on an incident stands. */
export const UPDATE_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const satisfies readonly UpdateStatus[];

/** Body of `POST /api/incidents/:id/updates`. */
export const UPDATE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['message', 'visibility'],
  properties: {
    message: { type: 'string', minLength: 1, maxLength: 5000, pattern: '\\S' },
    visibility: { type: 'string', enum: ['public', 'internal'] },
    status: { type: 'string', enum: UPDATE_STATUSES },
    by: BY,
  },
} as const;

/** Body of `PUT /api/incidents/:id/postmortem`; the route checks that the URL is http(s). */
export const POSTMORTEM_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: { url: { type: 'string', minLength: 1, maxLength: 2000 } },
} as const;

/** Params of a component route. */
export interface NameParams {
  name: string;
}
