import { InvalidOptionError } from '../../core/errors.js';
import type { Composable } from '../../policy/compose.js';

/** Throws naming `name` unless `value` is undefined or has a policy's `run`. */
export function checkPolicy(name: string, value: Composable | undefined): void {
  if (value !== undefined && typeof (value as Partial<Composable> | null)?.run !== 'function') {
    throw new InvalidOptionError(`${name} must be a nines policy (compose(), retry(), timeout()…)`);
  }
}
