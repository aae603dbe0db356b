import { DtypeError, InvalidArgumentError, ShapeError, validateGraph } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { graphOf } from '../test-util/graphs.js';

describe('creation', () => {
  it('zeros, ones, full: shape, dtype, chunks, one full task per block', () => {
    const z = ta.zeros([10, 7], { chunks: [4, 7] });
    expect(z.shape).toEqual([10, 7]);
    expect(z.dtype).toBe('float64');
    expect(z.chunks).toEqual([[4, 4, 2], [7]]);
    const f = ta.full([5], 3.7, { dtype: 'int32', chunks: 2 });
    expect(f.dtype).toBe('int32');
    const g = graphOf(f);
    expect(g.tasks.map((t) => t.params)).toEqual([{ value: 3 }, { value: 3 }, { value: 3 }]);
    expect(g.tasks.map((t) => t.shape)).toEqual([[2], [2], [1]]);
    expect(ta.ones(3).shape).toEqual([3]);
  });

  it('arange: numpy forms, int64 for integer arguments (numpy on Linux), per-block start', () => {
    const a = ta.arange(10, { chunks: 4 });
    expect(a.dtype).toBe('int64');
    expect(ta.full([2], 3).dtype).toBe('int64');
    expect(ta.full([2], 0.5).dtype).toBe('float64');
    expect(ta.ones([2]).dtype).toBe('float64');
    expect(a.shape).toEqual([10]);
    const g = graphOf(a);
    expect(g.tasks.map((t) => t.params).sort((x, y) => (x['start'] as number) - (y['start'] as number))).toEqual([
      { start: 0, step: 1 },
      { start: 4, step: 1 },
      { start: 8, step: 1 },
    ]);
    expect(ta.arange(1, 2, 0.25).dtype).toBe('float64');
    expect(ta.arange(1, 2, 0.25).shape).toEqual([4]);
    expect(ta.arange(5, 0, -2).shape).toEqual([3]);
    expect(ta.arange(5, 0).shape).toEqual([0]);
    expect(ta.arange(0, 4, 1, { dtype: 'float32' }).dtype).toBe('float32');
    expect(() => ta.arange(0, 4, 0)).toThrow(/arange: step must not be 0/);
  });

  it('fromArray: one from-bytes task per block holding its bytes in C order', () => {
    const data = Float64Array.from({ length: 12 }, (_, i) => i);
    const x = ta.fromArray(data, { shape: [3, 4], chunks: [2, 3] });
    expect(x.dtype).toBe('float64');
    const g = graphOf(x);
    expect(g.tasks).toHaveLength(4);
    const block = (key: string): number[] => {
      const t = g.tasks.find((u) => u.key === key)!;
      const b = t.params['bytes'] as Uint8Array;
      return [...new Float64Array(b.slice().buffer)];
    };
    expect(block(x.key([0, 0]))).toEqual([0, 1, 2, 4, 5, 6]);
    expect(block(x.key([0, 1]))).toEqual([3, 7]);
    expect(block(x.key([1, 0]))).toEqual([8, 9, 10]);
    expect(ta.fromArray(new Int32Array(3)).dtype).toBe('int32');
    expect(ta.fromArray([1, 2]).dtype).toBe('float64');
    expect(() => ta.fromArray(new Float32Array(5), { shape: [2, 2] })).toThrow(ShapeError);
    expect(() => ta.fromArray(new Float32Array(5), { shape: [2, 2] })).toThrow(/fromArray: 5 elements cannot have shape \(2, 2\)/);
  });

  it('fromArray keys depend on the content', () => {
    expect(ta.fromArray([1, 2]).name).toBe(ta.fromArray([1, 2]).name);
    expect(ta.fromArray([1, 2]).name).not.toBe(ta.fromArray([1, 3]).name);
  });

  it('random: float dtypes, per-block global offset, keys from the seed', () => {
    const x = ta.random.uniform([10, 10], { chunks: [5, 4], seed: 7 });
    const g = graphOf(x);
    const t = g.tasks.find((u) => u.key === x.key([1, 2]))!;
    expect(t.params).toEqual({ dist: 'uniform', seed: 7, a: 0, b: 1, offset: [5, 8], fullShape: [10, 10] });
    expect(t.shape).toEqual([5, 2]);
    const n = ta.random.normal([4], { mean: 2, std: 3, seed: 1, dtype: 'float32' });
    expect(n.dtype).toBe('float32');
    expect(graphOf(n).tasks[0]!.params).toMatchObject({ dist: 'normal', a: 2, b: 3 });
    expect(ta.random.uniform([3], { seed: 1 }).name).toBe(ta.random.uniform([3], { seed: 1 }).name);
    expect(ta.random.uniform([3], { seed: 1 }).name).not.toBe(ta.random.uniform([3], { seed: 2 }).name);
    expect(ta.random.uniform([3]).name).not.toBe(ta.random.uniform([3]).name); // fresh seeds
    expect(() => ta.random.uniform([3], { dtype: 'int32' as 'float32' })).toThrow(DtypeError);
    expect(() => ta.random.uniform([3], { seed: -1 })).toThrow(/random.uniform: seed/);
  });

  it('validates shapes and dtypes', () => {
    expect(() => ta.zeros([2, -1])).toThrow(InvalidArgumentError);
    expect(() => ta.zeros([2, 1.5])).toThrow(/zeros: shape must be a list of non-negative integers/);
    expect(() => ta.ones([2], { dtype: 'complex256' as 'int32' })).toThrow(/ones: unknown dtype "complex256"/);
    expect(() => ta.ones([4], { chunks: [[1, 2]] })).toThrow(/chunks \(1, 2\) for axis 0 sum to 3/);
  });

  it('0-d arrays are scalars', () => {
    const s = ta.full([], 2);
    expect(s).toBeInstanceOf(ta.ChunkedScalar);
    const g = graphOf(s);
    expect(g.outputs).toEqual([`${s.name}:`]);
    validateGraph(g);
  });
});
