import { InvalidOptionError } from '../../core/errors.js';
import { checkInteger } from '../../core/validate.js';

/** Which status codes pass: one, a list, or a predicate. */
export type ExpectStatus = number | readonly number[] | ((status: number) => boolean);

/** Tests a status code and says why it failed. */
export interface StatusMatcher {
  test(status: number): boolean;
  explain(status: number): string;
}

/** Builds the matcher of `expectStatus`, throwing a TypeError naming it when it is malformed. */
export function statusMatcher(expect: ExpectStatus): StatusMatcher {
  if (typeof expect === 'function') {
    return { test: (status) => expect(status) === true, explain: (status) => `status ${status} rejected by expectStatus` };
  }
  const codes = typeof expect === 'number' ? [expect] : expect;
  if (!Array.isArray(codes) || codes.length === 0) {
    throw new InvalidOptionError(`expectStatus must be a status code, a non-empty array of them or a function, got ${String(expect)}`);
  }
  for (const code of codes) checkInteger('expectStatus', code, 100, 599);
  const wanted = codes.length === 1 ? String(codes[0]) : `${codes.slice(0, -1).join(', ')} or ${codes.at(-1)}`;
  return { test: (status) => codes.includes(status), explain: (status) => `expected status ${wanted}, got ${status}` };
}
