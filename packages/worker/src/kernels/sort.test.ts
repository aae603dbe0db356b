import { describe, expect, it } from 'vitest';
import { OPS, type Chunk } from '@tessera/protocol';
import { executeTask } from './index.js';

const task = (op: string, params: Record<string, unknown>, shape: number[], dtype: Chunk['dtype']) => ({
  key: `${op}-00000000000000ff:0`,
  op,
  params,
  shape,
  dtype,
});
const f64 = (shape: number[], v: number[]): Chunk => ({ dtype: 'float64', shape, data: Float64Array.from(v) });
const i64 = (shape: number[], v: number[]): Chunk => ({ dtype: 'int64', shape, data: BigInt64Array.from(v.map(BigInt)) });

describe('sort, topk, search-count, histogram and bincount kernels', () => {
  it('sort lanes along an inner axis, and argsort them stably', () => {
    const x = f64([2, 3], [3, NaN, 1, 2, 2, -Infinity]);
    expect([...executeTask(task('sort', { axis: 1, arg: false }, [2, 3], 'float64'), [x]).data]).toEqual([1, 3, NaN, -Infinity, 2, 2]);
    expect([...executeTask(task('sort', { axis: 0, arg: true }, [2, 3], 'int64'), [x]).data]).toEqual([1n, 1n, 1n, 0n, 0n, 0n]);
    expect([...executeTask(task('sort', { axis: 1, arg: true }, [2, 3], 'int64'), [x]).data]).toEqual([2n, 0n, 1n, 2n, 0n, 1n]);
  });

  it('sorts contiguous float lanes natively (NaN last, -0 and 0 in input order) as the TypeScript path sorts strided ones', () => {
    // The same lanes as rows (contiguous: native where built, introsort for 97, radix sort for 1001)
    // and as columns (strided: TypeScript). Subnormals and wide exponents test the radix keys.
    for (const [rows, n] of [
      [40, 97],
      [6, 1001],
    ] as const) {
      const odd = [NaN, 0, -0, Infinity, -Infinity, 5e-324, -5e-324, -1e300, 1e-300];
      const v = Array.from({ length: rows * n }, (_, i) => odd[i % 13] ?? (Math.round(Math.sin(i) * 50) / 4) * 10 ** ((i % 7) - 3));
      for (const [dtype, Ctor] of [
        ['float64', Float64Array],
        ['float32', Float32Array],
      ] as const) {
        const x: Chunk = { dtype, shape: [rows, n], data: Ctor.from(v) };
        const t: Chunk = {
          dtype,
          shape: [n, rows],
          data: Ctor.from(Array.from({ length: rows * n }, (_, k) => v[(k % rows) * n + Math.floor(k / rows)]!)),
        };
        const a = executeTask(task('sort', { axis: 1, arg: false }, [rows, n], dtype), [x]).data;
        const b = executeTask(task('sort', { axis: 0, arg: false }, [n, rows], dtype), [t]).data;
        for (let r = 0; r < rows; r++) {
          for (let k = 0; k < n; k++) expect(Object.is(a[r * n + k], b[k * rows + r]), `${dtype} lane ${r} element ${k}`).toBe(true);
          for (let k = 1; k < n; k++)
            expect((a[r * n + k - 1] as number) <= (a[r * n + k] as number) || Number.isNaN(a[r * n + k])).toBe(true);
        }
      }
    }
  });

  it('topk merges earlier results by their indices, ties to the lower index', () => {
    // Two blocks of an axis of 6: values and, for argtopk's merge, the indices they came from.
    const a = f64([3], [5, 1, 5]);
    const b = f64([3], [7, 5, 0]);
    expect([...executeTask(task('topk', { axis: 0, k: 3, arg: true, offsets: [0, 3] }, [3], 'int64'), [a, b]).data]).toEqual([3n, 0n, 2n]);
    expect([...executeTask(task('topk', { axis: 0, k: -2, arg: false }, [2], 'float64'), [a, b]).data]).toEqual([0, 1]);
    const merged = executeTask(task('topk', { axis: 0, k: 2, arg: true }, [2], 'int64'), [
      f64([2], [5, 5]),
      f64([1], [5]),
      i64([2], [9, 4]),
      i64([1], [2]),
    ]);
    expect([...merged.data]).toEqual([2n, 4n]);
  });

  it('search-count counts before each value by side; histogram bins with the last bin closed', () => {
    const sorted = f64([5], [1, 2, 2, 3, NaN]);
    const v = f64([4], [2, 0, 9, NaN]);
    expect([...executeTask(task('search-count', { side: 'left' }, [4], 'int64'), [sorted, v]).data]).toEqual([1n, 0n, 4n, 4n]);
    expect([...executeTask(task('search-count', { side: 'right' }, [4], 'int64'), [sorted, v]).data]).toEqual([3n, 0n, 4n, 5n]);
    const x = f64([7], [0, 1, 1.5, 2, NaN, -1, 3]);
    expect([...executeTask(task('histogram', { edges: [0, 1, 2] }, [2], 'int64'), [x]).data]).toEqual([1n, 3n]);
    const w = f64([7], [1, 2, 3, 4, 5, 6, 7]);
    expect([...executeTask(task('histogram', { edges: [0, 1, 2] }, [2], 'float64'), [x, w]).data]).toEqual([1, 9]);
  });

  it('bincount counts each value below the length, or sums its weights', () => {
    const x: Chunk = { dtype: 'int16', shape: [5], data: Int16Array.from([0, 3, 3, 1, 3]) };
    expect([...executeTask(task('bincount', { length: 5 }, [5], 'int64'), [x]).data]).toEqual([1n, 1n, 0n, 3n, 0n]);
    expect([...executeTask(task('bincount', { length: 4 }, [4], 'float64'), [x, f64([5], [1, 2, 3, 4, 5])]).data]).toEqual([1, 4, 0, 10]);
    expect(() => executeTask(task('bincount', { length: 3 }, [3], 'int64'), [x])).toThrow(/value 3 is not below the result's length 3/);
    expect(OPS.bincount.check({ length: 4 }, [{ shape: [5], dtype: 'float64' }], { shape: [4], dtype: 'int64' })).toMatch(
      /1-d block of integers/,
    );
    expect(OPS.bincount.check({ length: 4 }, [{ shape: [5], dtype: 'int8' }], { shape: [5], dtype: 'int64' })).toMatch(/gives int64\(4,\)/);
  });

  it('the validator refuses declarations the params do not give', () => {
    const x = { shape: [4, 5], dtype: 'float32' as const };
    expect(OPS.sort.check({ axis: 1, arg: true }, [x], { shape: [4, 5], dtype: 'int64' })).toBeUndefined();
    expect(OPS.sort.check({ axis: 1, arg: false }, [x], { shape: [4, 5], dtype: 'int64' })).toMatch(/gives float32\(4, 5\)/);
    expect(OPS.sort.check({ axis: 2, arg: false }, [x], x)).toMatch(/axis 2 of a 2-D input/);
    expect(
      OPS.topk.check({ axis: 1, k: -3, arg: false }, [x, { shape: [4, 2], dtype: 'float32' }], { shape: [4, 3], dtype: 'float32' }),
    ).toBeUndefined();
    expect(OPS.topk.check({ axis: 1, k: 9, arg: false }, [x], { shape: [4, 9], dtype: 'float32' })).toMatch(/gives float32\(4, 5\)/);
    expect(OPS.topk.check({ axis: 1, k: 2, arg: true, offsets: [0] }, [x, x], { shape: [4, 2], dtype: 'int64' })).toMatch(
      /1 offsets for 2 blocks/,
    );
    expect(OPS.topk.check({ axis: 1, k: 2, arg: true }, [x, x], { shape: [4, 2], dtype: 'int64' })).toMatch(/index block 0 is float32/);
    expect(
      OPS.topk.check({ axis: 0, k: 2, arg: false }, [x, { shape: [4, 4], dtype: 'float32' }], { shape: [2, 5], dtype: 'float32' }),
    ).toMatch(/block 1 .* not like block 0/);
    expect(OPS.topk.params.safeParse({ axis: 0, k: 0, arg: false }).success).toBe(false);
    expect(OPS['search-count'].check({ side: 'left' }, [x, x], { shape: [4, 5], dtype: 'int64' })).toMatch(/must be 1-d/);
    expect(OPS['search-count'].check({ side: 'left' }, [{ shape: [3], dtype: 'int32' }, x], { shape: [4, 5], dtype: 'int64' })).toMatch(
      /must be of one dtype/,
    );
    expect(OPS.histogram.params.safeParse({ edges: [0, 2, 1] }).success).toBe(false);
    expect(OPS.histogram.check({ edges: [0, 1, 2] }, [x], { shape: [2], dtype: 'float64' })).toMatch(/gives int64\(2,\)/);
    expect(OPS.histogram.check({ edges: [0, 1, 2] }, [x, { shape: [5, 4], dtype: 'float64' }], { shape: [2], dtype: 'float64' })).toMatch(
      /weights \(5, 4\) differ/,
    );
  });
});
