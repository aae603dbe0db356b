import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap } from './heap.js';

describe('Heap', () => {
  it('pops in the order of its comparison, whatever the order of pushes and pops', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant('pop' as const)), { maxLength: 200 }), (ops) => {
        const heap = new Heap<number>((a, b) => a < b);
        const model: number[] = [];
        for (const op of ops) {
          if (op === 'pop') {
            model.sort((a, b) => a - b);
            expect(heap.pop()).toBe(model.shift());
          } else {
            heap.push(op);
            model.push(op);
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peek()).toBe(model.length ? Math.min(...model) : undefined);
        }
      }),
    );
  });

  it('orders by any comparison: ties broken by a second field', () => {
    const heap = new Heap<[number, string]>((a, b) => (a[0] !== b[0] ? a[0] > b[0] : a[1] < b[1]));
    for (const x of [
      [1, 'b'],
      [3, 'a'],
      [1, 'a'],
      [3, 'c'],
    ] as [number, string][])
      heap.push(x);
    const out: string[] = [];
    for (let x = heap.pop(); x; x = heap.pop()) out.push(`${x[0]}${x[1]}`);
    expect(out).toEqual(['3a', '3c', '1a', '1b']);
  });
});
