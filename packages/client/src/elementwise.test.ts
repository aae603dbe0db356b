import { DtypeError, InvalidArgumentError, ShapeError } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { graphOf, values } from '../test-util/graphs.js';

const seq = (n: number, shape: number[], chunks: ta.ChunksSpec, int = false) => {
  const data = Float64Array.from({ length: n }, (_, i) => i);
  return ta.fromArray(int ? Int32Array.from(data) : data, { shape, chunks });
};

describe('elementwise', () => {
  it('functions and methods build the same array', () => {
    const x = ta.ones([4, 4], { chunks: 2 });
    expect(ta.add(x, 1).name).toBe(x.add(1).name);
    expect(ta.sin(x).name).toBe(x.sin().name);
    expect(ta.where(x.gt(0), x, 0).name).toBe(x.gt(0).where(x, 0).name);
    expect(x.add(1).name).not.toBe(x.add(2).name);
  });

  it('broadcasts numpy-style and says which shapes do not', () => {
    const a = ta.zeros([3, 4], { chunks: 2 });
    expect(a.add(ta.zeros([4])).shape).toEqual([3, 4]);
    expect(a.add(ta.zeros([3, 1])).shape).toEqual([3, 4]);
    expect(ta.zeros([5, 1, 4]).mul(ta.zeros([3, 1])).shape).toEqual([5, 3, 4]);
    expect(() => a.add(ta.zeros([5]))).toThrow(ShapeError);
    expect(() => a.add(ta.zeros([5]))).toThrow('add: shapes (3, 4) and (5,) do not broadcast');
    expect(() => ta.where(ta.zeros([2]), a, ta.zeros([3]))).toThrow(/where: shapes \(2,\), \(3, 4\) and \(3,\) do not broadcast/);
  });

  it('numpy dtype promotion with arrays and scalars', () => {
    const f64 = ta.zeros([2]);
    const f32 = ta.zeros([2], { dtype: 'float32' });
    const i32 = ta.zeros([2], { dtype: 'int32' });
    const u8 = ta.zeros([2], { dtype: 'uint8' });
    expect(f32.add(i32).dtype).toBe('float64');
    expect(f32.add(u8).dtype).toBe('float32');
    expect(u8.add(i32).dtype).toBe('int32');
    expect(f32.add(1.5).dtype).toBe('float32');
    expect(i32.add(1).dtype).toBe('int32');
    expect(i32.add(1.5).dtype).toBe('float64');
    expect(u8.mul(2).dtype).toBe('uint8');
    expect(i32.div(2).dtype).toBe('float64');
    expect(f32.div(i32).dtype).toBe('float64');
    expect(u8.sqrt().dtype).toBe('float32');
    expect(i32.sin().dtype).toBe('float64');
    expect(f64.lt(1).dtype).toBe('uint8');
    expect(i32.neg().dtype).toBe('int32');
    expect(ta.where(u8, f32, 0).dtype).toBe('float32');
    expect(ta.where(u8, i32, 0.5).dtype).toBe('float64');
    expect(f64.astype('int32').dtype).toBe('int32');
    expect(f64.astype('float64')).toBe(f64);
    expect(() => f64.astype('int64' as 'int32')).toThrow(DtypeError);
  });

  it('rejects calls without arrays', () => {
    expect(() => ta.add(1, 2)).toThrow(InvalidArgumentError);
    expect(() => ta.add(1, 2)).toThrow(/add: needs at least one array/);
  });

  it('computes with broadcasting against a size-1 axis (its block reused by every block)', () => {
    const a = seq(12, [3, 4], [2, 2]);
    const col = seq(3, [3, 1], [2, 1]);
    const y = a.sub(col);
    expect(y.chunks).toEqual([[2, 1], [2, 2]]);
    const g = graphOf(y, { fuse: false });
    expect(g.tasks.find((u) => u.key === y.key([1, 1]))!.deps).toEqual([a.key([1, 1]), col.key([1, 0])]);
    expect(g.tasks.find((u) => u.key === y.key([0, 1]))!.deps).toEqual([a.key([0, 1]), col.key([0, 0])]);
    expect(values(y)).toEqual([0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9]);
    expect(values(a.mul(ta.fromArray([1, 10, 100, 1000], { chunks: 3 })))).toEqual([0, 10, 200, 3000, 4, 50, 600, 7000, 8, 90, 1000, 11000]);
  });

  it('unifies different chunkings (rechunk to common boundaries)', () => {
    const a = seq(10, [10], 5);
    const b = seq(10, [10], [[3, 3, 4]]);
    const c = a.add(b);
    expect(c.chunks).toEqual([[3, 2, 1, 4]]);
    expect(values(c)).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
  });

  it('numbers: ints wrap, comparisons give 0/1, where selects', () => {
    const i = seq(6, [6], 4, true);
    expect(values(i.mul(2).add(1))).toEqual([1, 3, 5, 7, 9, 11]);
    expect(values(i.gt(2))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(values(ta.where(i.ge(3), i, i.neg()))).toEqual([0, -1, -2, 3, 4, 5]);
    expect(values(ta.fromArray(new Uint8Array([250, 3])).add(10))).toEqual([4, 13]);
    expect(values(i.div(4))).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect(values(ta.maximum(i, 2))).toEqual([2, 2, 2, 3, 4, 5]);
    expect(values(i.astype('uint8').sub(1))).toEqual([255, 0, 1, 2, 3, 4]);
    expect(values(ta.fromArray([1.7, -1.7]).astype('int32'))).toEqual([1, -1]);
  });

  it('every block of an elementwise op passes validateGraph, fused or not', () => {
    const x = ta.random.uniform([6, 5], { chunks: [4, 2], seed: 3 });
    const y = ta.tanh(x).mul(ta.exp(x.neg())).pow(2).sub(ta.log(x.add(1)).abs()).sqrt().minimum(x);
    graphOf(y);
    graphOf(y, { fuse: false });
    const fused = values(y);
    const plain = values(y, {}, { fuse: false });
    expect(fused).toEqual(plain);
  });
});
