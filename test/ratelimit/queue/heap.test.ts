import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap, type HeapItem } from '../../../src/ratelimit/queue/heap.js';

const first = (a: HeapItem, b: HeapItem) => b.priority - a.priority || a.seq - b.seq;

describe('Heap', () => {
  it('pops in priority order, FIFO within a priority, under any mix of push, pop and remove', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), priority: fc.integer({ min: -2, max: 2 }) }),
      fc.record({ kind: fc.constant('pop' as const) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new Heap<HeapItem>();
        let reference: HeapItem[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'push') {
            const item = { priority: o.priority, seq: seq++, heapIndex: -1 };
            heap.push(item);
            reference.push(item);
          } else if (o.kind === 'pop') {
            reference.sort(first);
            expect(heap.pop()).toBe(reference.shift());
          } else if (reference.length > 0) {
            const item = reference[o.pick % reference.length] as HeapItem;
            heap.remove(item);
            heap.remove(item); // twice is harmless
            expect(item.heapIndex).toBe(-1);
            reference = reference.filter((r) => r !== item);
          }
          expect(heap.size).toBe(reference.length);
        }
        reference.sort(first);
        for (const expected of reference) expect(heap.pop()).toBe(expected);
        expect(heap.pop()).toBeUndefined();
      }),
    );
  });
});
