import { z } from 'zod';
import { parseDuration } from './duration.js';

/** Largest M of `failuresToOpen: "N of M"`: the tracker keeps the last M results per component. */
export const MAX_WINDOW = 100;

/**
 * When failures open an incident: `n` consecutive unhealthy results (a number), `failures` of the last
 * `of` results (`"3 of 5"`), or unhealthy without a break for at least `forMs` (`"for 2m"`).
 */
export type OpenRule = number | { failures: number; of: number } | { forMs: number };

/** When passes resolve an incident: `n` consecutive non-unhealthy results, or passing without a break for `forMs`. */
export type ResolveRule = number | { forMs: number };

const OPEN_HINT = `expected an integer >= 1, "N of M" with 1 <= N <= M <= ${MAX_WINDOW}, or "for" and a duration like "for 2m"`;
const RESOLVE_HINT = 'expected an integer >= 1 or "for" and a duration like "for 2m"';

const OF = /^(\d+)\s+of\s+(\d+)$/;
// "for" is required: a bare `2m` is one letter from the count `2`, and would mean something else entirely.
const FOR = /^for\s+(\S+)$/;

/** Reads one rule; a string for a problem, the rule otherwise. */
function read(value: number | string, allowWindow: boolean): OpenRule | string {
  const hint = allowWindow ? OPEN_HINT : RESOLVE_HINT;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 ? value : hint;
  const text = value.trim();
  const of = OF.exec(text);
  if (of) {
    if (!allowWindow) return `"N of M" applies to failuresToOpen only; ${hint}`;
    const failures = Number(of[1]);
    const size = Number(of[2]);
    return failures >= 1 && failures <= size && size <= MAX_WINDOW ? { failures, of: size } : hint;
  }
  const span = FOR.exec(text)?.[1];
  if (span === undefined) return hint;
  try {
    const forMs = parseDuration(span);
    return forMs >= 1 ? { forMs } : 'must be at least 1ms';
  } catch {
    return hint;
  }
}

function rule<T extends OpenRule>(allowWindow: boolean) {
  const error = allowWindow ? OPEN_HINT : RESOLVE_HINT;
  return z.union([z.number(), z.string()], { error }).transform((value, ctx): T => {
    const r = read(value, allowWindow);
    if (typeof r !== 'string') return r as T;
    ctx.issues.push({ code: 'custom', message: r, input: value });
    return z.NEVER;
  });
}

/** `failuresToOpen`: an integer, `"N of M"` or `"for <duration>"`. */
export const openRule = rule<OpenRule>(true);
/** `successesToResolve`: an integer or `"for <duration>"`. */
export const resolveRule = rule<ResolveRule>(false);
