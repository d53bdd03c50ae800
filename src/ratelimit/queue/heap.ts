/** What the heap orders: higher `priority` first, then lower `seq` (arrival order) first. */
export interface HeapItem {
  readonly priority: number;
  readonly seq: number;
  /** Position in the heap's array; -1 when not in a heap. Kept by the heap so removal is O(log n). */
  heapIndex: number;
}

function before(a: HeapItem, b: HeapItem): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

/**
 * A binary max-heap by priority, FIFO among equal priorities (the `seq` tie-break makes it stable).
 * Items know their index, so an aborted or timed-out item leaves in O(log n) instead of a scan.
 */
export class Heap<T extends HeapItem> {
  readonly #items: T[] = [];

  /** Items in the heap. */
  get size(): number {
    return this.#items.length;
  }

  /** Adds `item`. */
  push(item: T): void {
    this.#items.push(item);
    this.#up(this.#items.length - 1, item);
  }

  /** Removes and returns the first item; undefined when empty. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop() as T;
    if (last !== top) this.#down(0, last);
    top.heapIndex = -1;
    return top;
  }

  /** Takes `item` out wherever it is; harmless when it is not in the heap. */
  remove(item: T): void {
    const i = item.heapIndex;
    const items = this.#items;
    if (i < 0 || items[i] !== item) return;
    const last = items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    if (i > 0 && before(last, items[(i - 1) >> 1] as T)) this.#up(i, last);
    else this.#down(i, last);
  }

  /** Moves `item`, to be placed at `i`, towards the root past every item it goes before. */
  #up(i: number, item: T): void {
    const items = this.#items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p] as T;
      if (!before(item, parent)) break;
      this.#place(parent, i);
      i = p;
    }
    this.#place(item, i);
  }

  /** Moves `item`, to be placed at `i`, towards the leaves past every child that goes before it. */
  #down(i: number, item: T): void {
    const items = this.#items;
    const n = items.length;
    for (let l = 2 * i + 1; l < n; l = 2 * i + 1) {
      const c = l + 1 < n && before(items[l + 1] as T, items[l] as T) ? l + 1 : l;
      const child = items[c] as T;
      if (!before(child, item)) break;
      this.#place(child, i);
      i = c;
    }
    this.#place(item, i);
  }

  #place(item: T, i: number): void {
    this.#items[i] = item;
    item.heapIndex = i;
  }
}
