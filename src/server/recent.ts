/** Most audit entries `nines serve` keeps in memory; the oldest go first. */
export const MAX_AUDIT = 1000;

/** The newest {@link MAX_AUDIT} entries of an in-memory audit log. */
export class Recent<T> {
  readonly #items: T[] = [];

  /** Adds `entry`, dropping the oldest past the cap. */
  push(entry: T): void {
    this.#items.push(entry);
    if (this.#items.length > MAX_AUDIT) this.#items.shift();
  }

  /** The entries, newest first. */
  newestFirst(): T[] {
    return [...this.#items].reverse();
  }
}
