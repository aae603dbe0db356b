import { describe, expect, it } from 'vitest';
import type { InputLocation, TaskSpec } from '@tessera/protocol';
import { inputRegions, rebaseOnRegions } from './regions.js';

const K = (i: number): string => `random-0123456789abcdef:${i}`;
const loc = (i: number, shape: number[]): InputLocation => ({ key: K(i), worker: 'w', address: 'http://127.0.0.1:1', dtype: 'float64', shape });
const spec = (pieces: unknown[], deps: string[]): TaskSpec => ({ key: 'rechunk-0123456789abcdef:0', op: 'assemble', params: { pieces }, deps, shape: [10, 10], dtype: 'float64', nbytes: 800, priority: 0 });

describe('input regions of assemble tasks', () => {
  it('is the box of every piece of an input (negative steps too), only where it is at most half the chunk', () => {
    const s = spec(
      [
        { input: 0, src: [{ start: 2, step: 1, count: 3 }, { start: 10, step: 1, count: 5 }], dst: [0, 0] },
        { input: 0, src: [{ start: 9, step: -2, count: 3 }, { start: 12, step: 1, count: 1 }], dst: [3, 0] },
        { input: 1, src: [{ start: 0, step: 1, count: 10 }, { start: 0, step: 1, count: 8 }], dst: [0, 5] },
        { input: 2, src: [{ start: 0, step: 1, count: 0 }, { start: 0, step: 1, count: 8 }], dst: [0, 5] },
      ],
      [K(0), K(1), K(2)],
    );
    const r = inputRegions(s, [loc(0, [10, 100]), loc(1, [10, 10]), loc(2, [10, 10])])!;
    expect(r[0]).toEqual({ start: [2, 10], count: [8, 5] }); // rows 2..9 (9, 7, 5 and 2..4), columns 10..14
    expect(r[1]).toBeUndefined(); // 80% of the chunk: fetched whole
    expect(r[2]).toBeUndefined(); // nothing read
    const rebased = rebaseOnRegions(s, r).params as { pieces: { src: { start: number }[] }[] };
    expect(rebased.pieces.map((p) => p.src.map((x) => x.start))).toEqual([[0, 0], [7, 2], [0, 0], [0, 0]]);
  });

  it('is undefined for other ops, malformed pieces and unknown inputs', () => {
    expect(inputRegions({ ...spec([], [K(0)]), op: 'elementwise' }, [loc(0, [10])])).toBeUndefined();
    expect(inputRegions(spec([{ input: 3, src: [{ start: 0, step: 1, count: 1 }], dst: [0] }], [K(0)]), [loc(0, [10])])).toBeUndefined();
    expect(inputRegions(spec([{ input: 0, src: [{ start: 0, step: 1, count: 1 }], dst: [0] }], [K(0)]), [])).toBeUndefined();
  });
});
