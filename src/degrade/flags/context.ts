/**
 * What a flag is evaluated for. Attributes are looked up at the top level first, then in
 * `properties` (Unleash's layout), so `{ country: 'no' }` and `{ properties: { country: 'no' } }`
 * match the same rule.
 */
export interface FlagContext {
  /** The default sticky key of rollouts and variants. */
  userId?: string;
  /** The sticky key when there is no `userId`. */
  sessionId?: string;
  /** The caller's address; the variants' last sticky key. */
  remoteAddress?: string;
  /** The time for `DATE_*` rules; default: the flag set's clock. */
  currentTime?: Date | string | number;
  /** More attributes, as Unleash's context has them. */
  properties?: Record<string, unknown>;
  /** Any other attribute. */
  [attribute: string]: unknown;
}

/** The value of `attribute` in `context` as a string, or `undefined` when absent, null or empty. */
export function attribute(context: FlagContext, name: string): string | undefined {
  let value = context[name];
  if (value === undefined || value === null) value = context.properties?.[name];
  if (value === undefined || value === null) return undefined;
  const text = value instanceof Date ? value.toISOString() : String(value);
  return text === '' ? undefined : text;
}
