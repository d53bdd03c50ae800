import { NAME_PATTERN } from '../config/schema.js';
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

/** Params of a component route. */
export interface NameParams {
  name: string;
}
