import { NinesError } from '../../core/errors.js';

/** Flag definitions failed validation; nothing was changed. Code `NINES_FLAGS_INVALID`. */
export class FlagsInvalidError extends NinesError {
  /** Every problem, as `path: message`. */
  readonly problems: readonly string[];
  /** The file the flags came from, if any. */
  readonly source: string | undefined;

  constructor(problems: readonly string[], source?: string) {
    const where = source === undefined ? 'flags' : source;
    super('NINES_FLAGS_INVALID', `${where}: ${problems.length} problem(s)\n${problems.join('\n')}`);
    this.problems = problems;
    this.source = source;
  }
}
