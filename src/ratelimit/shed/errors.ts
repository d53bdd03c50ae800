import { NinesError } from '../../core/errors.js';
import type { Priority, ShedReason } from './priority.js';

/** Thrown by `LoadShedder.run()` when the work was shed; `fn` was not called. */
export class LoadShedError extends NinesError {
  constructor(
    /** Priority of the shed work. */
    readonly priority: Priority,
    /** The signal that was over its limit. */
    readonly reason: ShedReason,
    /** How long to wait before trying again (the retry policy honours it). */
    readonly retryAfterMs: number,
  ) {
    super('NINES_LOAD_SHED', `${priority} work shed: ${reason.replaceAll('_', ' ')} over its limit`);
  }
}
