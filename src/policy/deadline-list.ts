import type { Clock, TimerHandle } from '../core/clock.js';

/** An item waiting for its deadline; policies extend it so a call allocates one object, not two. */
export abstract class Deadline {
  /** @internal */ at = 0;
  /** @internal */ prev: Deadline | undefined = undefined;
  /** @internal */ next: Deadline | undefined = undefined;
  /** @internal */ linked = false;
  /** Called once when the deadline passes while the item is still in the list. */
  abstract expire(): void;
}

/**
 * Deadlines of one duration, in the order they were added, served by a single timer.
 * Removing an item never clears the timer: a leftover timer fires once, finds nothing due and
 * stops. So a call that settles in time costs a link and an unlink, not a setTimeout/clearTimeout
 * pair (~250 ns). The timer keeps the process alive only while deadlines are pending: it is
 * unref'd when the list empties (~9 ns to toggle), so a leftover never holds the process open.
 */
export class DeadlineList {
  #head: Deadline | undefined;
  #tail: Deadline | undefined;
  #timer: TimerHandle | undefined;
  #size = 0;

  constructor(private readonly clock: Clock) {}

  /** Items waiting. */
  get size(): number {
    return this.#size;
  }

  /** Adds `item` due `ms` from now; `ms` must be the same for every item of this list. */
  add(item: Deadline, ms: number): void {
    const now = this.clock.now();
    item.at = now + ms;
    item.linked = true;
    item.prev = this.#tail;
    item.next = undefined;
    if (this.#tail) this.#tail.next = item;
    else this.#head = item;
    this.#tail = item;
    if (this.#timer === undefined) this.#schedule(ms);
    else if (this.#size === 0) this.#timer.ref();
    this.#size++;
  }

  /** Takes `item` out; harmless if it already expired or was removed. */
  remove(item: Deadline): void {
    if (!item.linked) return;
    item.linked = false;
    if (item.prev) item.prev.next = item.next;
    else this.#head = item.next;
    if (item.next) item.next.prev = item.prev;
    else this.#tail = item.prev;
    item.prev = item.next = undefined;
    if (--this.#size === 0) this.#timer?.unref();
  }

  #schedule(ms: number): void {
    this.#timer = this.clock.setTimeout(() => this.#fire(), Math.max(0, ms));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.clock.now();
    let head = this.#head;
    while (head !== undefined && head.at <= now) {
      this.remove(head);
      head.expire();
      head = this.#head;
    }
    if (head !== undefined && this.#timer === undefined) this.#schedule(head.at - now);
  }
}
