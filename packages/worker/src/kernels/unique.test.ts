import { describe, expect, it } from 'vitest';
import { OPS, type Chunk } from '@tessera/protocol';
import { executeTask } from './index.js';

const task = (params: Record<string, unknown>, shape: number[], dtype: Chunk['dtype']) => ({ key: 'unique-00000000000000ff:0', op: 'unique', params, shape, dtype });
const f64 = (v: number[], shape = [v.length]): Chunk => ({ dtype: 'float64', shape, data: Float64Array.from(v) });
const i64 = (v: number[]): Chunk => ({ dtype: 'int64', shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
const run = (params: Record<string, unknown>, shape: number[], dtype: Chunk['dtype'], inputs: Chunk[]) => [...executeTask(task(params, shape, dtype), inputs).data];

describe('unique kernel', () => {
  // A raw 2-d block, C order: NaN twice (one value), -0 before 0 (the first zero's sign is kept).
  const x = f64([3, NaN, 1, -0, 3, 0, NaN, 1], [2, 4]);

  it('gives a raw block its distinct values, first flat indices (from the offset), counts and number', () => {
    const values = run({ out: 'values', merge: false }, [4], 'float64', [x]);
    expect(values).toEqual([-0, 1, 3, NaN]);
    expect(Object.is(values[0], -0)).toBe(true);
    expect(run({ out: 'index', merge: false, offset: 10 }, [4], 'int64', [x])).toEqual([13n, 12n, 10n, 11n]);
    expect(run({ out: 'counts', merge: false }, [4], 'int64', [x])).toEqual([2n, 2n, 2n, 2n]);
    expect(run({ out: 'size', merge: false }, [1], 'int64', [x])).toEqual([4n]);
    const ints: Chunk = { dtype: 'uint64', shape: [5], data: BigUint64Array.from([2n ** 64n - 1n, 0n, 7n, 2n ** 64n - 1n, 0n]) };
    expect(run({ out: 'values', merge: false }, [3], 'uint64', [ints])).toEqual([0n, 7n, 2n ** 64n - 1n]);
    expect(run({ out: 'size', merge: false }, [1], 'int64', [f64([])])).toEqual([0n]);
    // Several raw blocks, consecutive in flat order: one union (the first round counts groups of blocks so).
    expect(run({ out: 'size', merge: false }, [1], 'int64', [x, f64([5, 3, NaN])])).toEqual([5n]);
    expect(run({ out: 'index', merge: false, offset: 2 }, [5], 'int64', [x, f64([5, 3, NaN])])).toEqual([5n, 4n, 2n, 10n, 3n]);
  });

  it('merges sorted distinct blocks: the union, first indices by minimum, counts summed, the first block\'s zero', () => {
    const a = f64([0, 2, NaN]);
    const b = f64([-0, 1, 2, NaN]);
    const values = run({ out: 'values', merge: true }, [4], 'float64', [a, b]);
    expect(values).toEqual([0, 1, 2, NaN]);
    expect(Object.is(values[0], 0)).toBe(true);
    expect(run({ out: 'index', merge: true }, [4], 'int64', [a, b, i64([4, 0, 2]), i64([5, 6, 3, 8])])).toEqual([4n, 6n, 0n, 2n]);
    expect(run({ out: 'counts', merge: true }, [4], 'int64', [a, b, i64([1, 2, 3]), i64([4, 5, 6, 7])])).toEqual([5n, 5n, 8n, 10n]);
    expect(run({ out: 'size', merge: true }, [1], 'int64', [a, b, f64([])])).toEqual([4n]);
  });

  it('fails a task whose declared length the data do not have, and refuses bad params', () => {
    expect(() => executeTask(task({ out: 'values', merge: false }, [3], 'float64'), [x])).toThrow(/hold 4 distinct values, the task declares 3/);
    expect(() => executeTask(task({ out: 'index', merge: false }, [4], 'int64'), [x])).toThrow(/needs its offset/);
    expect(() => executeTask(task({ out: 'all', merge: false }, [4], 'int64'), [x])).toThrow(/bad unique params/);
  });

  it('the catalogue checks inputs and the declared shape and dtype', () => {
    const check = (p: Record<string, unknown>, deps: { shape: number[]; dtype: Chunk['dtype'] }[], out: { shape: number[]; dtype: Chunk['dtype'] }) =>
      OPS.unique.check(OPS.unique.params.parse(p), deps, out);
    const v = { shape: [4], dtype: 'float64' as const };
    expect(check({ out: 'values', merge: true }, [v, v], { shape: [6], dtype: 'float64' })).toBeUndefined();
    expect(check({ out: 'values', merge: true }, [v, v], { shape: [9], dtype: 'float64' })).toMatch(/between 4 and 8/);
    expect(check({ out: 'index', merge: true }, [v, v], { shape: [4], dtype: 'int64' })).toMatch(/index block 0 is float64/);
    expect(check({ out: 'counts', merge: false }, [{ shape: [2, 3], dtype: 'int8' }], { shape: [6], dtype: 'int64' })).toBeUndefined();
    expect(check({ out: 'values', merge: false }, [{ shape: [2, 3], dtype: 'int8' }], { shape: [2], dtype: 'int64' })).toMatch(/gives int8, declared int64/);
    expect(check({ out: 'size', merge: false }, [v], { shape: [2], dtype: 'int64' })).toMatch(/int64\[1\]/);
  });
});
