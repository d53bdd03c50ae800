import { InvalidOptionError } from '../../core/errors.js';

/** How much of a response body `expectBody` (and the monitor's `[BODY]`) reads: the first 1 MiB. */
export const BODY_LIMIT = 1024 * 1024;

/** `headers` with the URL's credentials as a Basic authorization header, unless one is set. */
export function withBasicAuth(target: URL, headers: Record<string, string>): Record<string, string> {
  if (target.username && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
    const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return headers;
}

/** The test of `expectBody` on the body read: undefined when it passes, else why not. */
export function bodyMatcher(expect: string | RegExp | undefined): ((text: string) => string | undefined) | undefined {
  if (expect === undefined) return undefined;
  if (typeof expect === 'string') {
    const shown = JSON.stringify(expect.length > 60 ? `${expect.slice(0, 60)}…` : expect);
    return (text) => (text.includes(expect) ? undefined : `response body does not contain ${shown}`);
  }
  if (expect instanceof RegExp)
    return (text) => (text.search(expect) !== -1 ? undefined : `response body does not match ${String(expect)}`);
  throw new InvalidOptionError(`expectBody must be a string or a RegExp, got ${typeof expect}`);
}
