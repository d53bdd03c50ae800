import { InvalidOptionError } from './errors.js';
/** Throws a TypeError naming `name` unless `value` is a finite number >= `min` (and <= `max`). */
export function checkNumber(name: string, value: number, min = 0, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `between ${min} and ${max}`;
    throw new InvalidOptionError(`${name} must be a number ${range}, got ${String(value)}`);
  }
  if (!Number.isFinite(value) && max !== Number.POSITIVE_INFINITY) {
    throw new InvalidOptionError(`${name} must be finite, got ${String(value)}`);
  }
  return value;
}

/** Like {@link checkNumber} but also requires an integer. */
export function checkInteger(name: string, value: number, min = 0, max = Number.POSITIVE_INFINITY): number {
  checkNumber(name, value, min, max);
  if (!Number.isInteger(value) && value !== Number.POSITIVE_INFINITY) {
    throw new InvalidOptionError(`${name} must be an integer, got ${String(value)}`);
  }
  return value;
}

/** Throws a TypeError naming `name` unless `value` is a function (or undefined when optional). */
export function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(`${name} must be a function, got ${typeof value}`);
  }
}

/** Throws a TypeError naming `name` unless `value` is a non-empty string. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(`${name} must be a non-empty string, got ${typeof value === 'string' ? '""' : typeof value}`);
  }
  return value;
}
