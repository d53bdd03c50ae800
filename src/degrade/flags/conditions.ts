import { attribute, type FlagContext } from './context.js';
import type { FlagCondition } from './schema.js';
import { compareSemver } from './semver.js';

function compare(op: string, cmp: number): boolean {
  if (op.endsWith('_EQ')) return cmp === 0;
  if (op.endsWith('_GTE')) return cmp >= 0;
  if (op.endsWith('_GT') || op === 'DATE_AFTER') return cmp > 0;
  if (op.endsWith('_LTE')) return cmp <= 0;
  return cmp < 0; // _LT, DATE_BEFORE
}

function test(c: FlagCondition, context: FlagContext, now: number): boolean {
  const op = c.operator;
  if (op.startsWith('DATE_')) {
    const raw = context.currentTime ?? context.properties?.currentTime;
    const at = raw === undefined || raw === null ? now : raw instanceof Date ? raw.getTime() : new Date(raw as string).getTime();
    const limit = Date.parse(c.value ?? '');
    return !Number.isNaN(at) && !Number.isNaN(limit) && compare(op, at - limit);
  }
  const value = attribute(context, c.attribute);
  if (op === 'IN' || op === 'NOT_IN') {
    const found = value !== undefined && (c.values ?? []).includes(value);
    return op === 'IN' ? found : !found;
  }
  if (value === undefined) return false;
  if (op.startsWith('STR_')) {
    const fold = c.caseInsensitive === true;
    const subject = fold ? value.toLocaleLowerCase() : value;
    return (c.values ?? []).some((v) => {
      const x = fold ? v.toLocaleLowerCase() : v;
      if (op === 'STR_STARTS_WITH') return subject.startsWith(x);
      if (op === 'STR_ENDS_WITH') return subject.endsWith(x);
      return subject.includes(x);
    });
  }
  if (op.startsWith('NUM_')) {
    const a = Number.parseFloat(value);
    const b = Number.parseFloat(c.value ?? '');
    return !Number.isNaN(a) && !Number.isNaN(b) && compare(op, a - b);
  }
  const cmp = compareSemver(value, c.value ?? '');
  return cmp !== undefined && compare(op, cmp);
}

/** True when `condition` holds for `context` (`inverted` flips the answer); `now` for `DATE_*` without `currentTime`. */
export function conditionHolds(condition: FlagCondition, context: FlagContext, now: number): boolean {
  const result = test(condition, context, now);
  return condition.inverted === true ? !result : result;
}
