import { DtypeError, InvalidArgumentError, ShapeError } from '@tessera/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { computeList, connectLocal } from '../test-util/engine.js';
import { graphOf } from '../test-util/graphs.js';

let client: ta.Client;
beforeAll(async () => {
  client = await connectLocal();
});
afterAll(async () => {
  await client?.close();
});
/** The array computed on the local engine, as a flat list. */
const values = (a: ta.ChunkedArray, opts?: ta.ComputeOptions) => computeList(client, a, opts);
/** Element by element within 1e-12 relative; NaN only where NaN is expected. */
const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    if (Number.isNaN(w)) expect(g, `element ${i}`).toBeNaN();
    else expect(Math.abs(g - w), `element ${i}: ${g} vs ${w}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(w)));
  });
};

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
    expect(f64.lt(1).dtype).toBe('bool');
    expect(i32.neg().dtype).toBe('int32');
    expect(ta.where(u8, f32, 0).dtype).toBe('float32');
    expect(ta.where(u8, i32, 0.5).dtype).toBe('float64');
    expect(f64.astype('int32').dtype).toBe('int32');
    expect(f64.astype('float64')).toBe(f64);
    expect(f64.astype('int64').dtype).toBe('int64');
    expect(() => f64.astype('float16' as 'int32')).toThrow(DtypeError);
  });

  it('rejects calls without arrays', () => {
    expect(() => ta.add(1, 2)).toThrow(InvalidArgumentError);
    expect(() => ta.add(1, 2)).toThrow(/add: needs at least one array/);
  });

  it('computes with broadcasting against a size-1 axis (its block reused by every block)', async () => {
    const a = seq(12, [3, 4], [2, 2]);
    const col = seq(3, [3, 1], [2, 1]);
    const y = a.sub(col);
    expect(y.chunks).toEqual([[2, 1], [2, 2]]);
    const g = graphOf(y, { fuse: false });
    expect(g.tasks.find((u) => u.key === y.key([1, 1]))!.deps).toEqual([a.key([1, 1]), col.key([1, 0])]);
    expect(g.tasks.find((u) => u.key === y.key([0, 1]))!.deps).toEqual([a.key([0, 1]), col.key([0, 0])]);
    const want: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) want.push(i * 4 + j - i);
    expect(await values(y)).toEqual(want);
    const scale = [1, 10, 100, 1000];
    const scaled: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) scaled.push((i * 4 + j) * scale[j]!);
    expect(await values(a.mul(ta.fromArray(scale, { chunks: 3 })))).toEqual(scaled);
  });

  it('unifies different chunkings (rechunk to common boundaries)', async () => {
    const a = seq(10, [10], 5);
    const b = seq(10, [10], [[3, 3, 4]]);
    const c = a.add(b);
    expect(c.chunks).toEqual([[3, 2, 1, 4]]);
    expect(await values(c)).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
  });

  it('numbers: ints wrap, comparisons give 0/1, where selects', async () => {
    const i = seq(6, [6], 4, true);
    expect(await values(i.mul(2).add(1))).toEqual([1, 3, 5, 7, 9, 11]);
    expect(await values(i.gt(2))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(await values(ta.where(i.ge(3), i, i.neg()))).toEqual([0, -1, -2, 3, 4, 5]);
    expect(await values(ta.fromArray(new Uint8Array([250, 3])).add(10))).toEqual([4, 13]);
    expect(await values(i.div(4))).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    expect(await values(ta.maximum(i, 2))).toEqual([2, 2, 2, 3, 4, 5]);
    expect(await values(i.astype('uint8').sub(1))).toEqual([255, 0, 1, 2, 3, 4]);
    expect(await values(ta.fromArray([1.7, -1.7]).astype('int32'))).toEqual([1, -1]);
    expect(await values(ta.fromArray(new Int32Array([2 ** 31 - 1, 5])).add(1))).toEqual([-(2 ** 31), 6]);
  });

  it('a long chain gives the plain-JS reference, fused or not', async () => {
    const x = ta.random.uniform([6, 5], { chunks: [4, 2], seed: 3 });
    const y = ta.tanh(x).mul(ta.exp(x.neg())).pow(2).sub(ta.log(x.add(1)).abs().mul(0.1)).sqrt().minimum(x);
    graphOf(y);
    graphOf(y, { fuse: false });
    const xs = await values(x);
    // NaN where the square root's argument is negative; minimum propagates it like numpy.
    const want = xs.map((v) => {
      const r = Math.sqrt((Math.tanh(v) * Math.exp(-v)) ** 2 - Math.abs(Math.log(v + 1)) * 0.1);
      return Number.isNaN(r) ? NaN : Math.min(r, v);
    });
    expect(want.some(Number.isNaN)).toBe(true);
    expect(want.some((v) => !Number.isNaN(v))).toBe(true);
    close(await values(y), want);
    close(await values(y, { fuse: false }), want);
  });
});

describe('NaN and infinite constants (numpy semantics)', () => {
  const f = ta.fromArray([1, -2, 3, 0.5, -0], { chunks: 2 });
  const i = ta.fromArray(new Int32Array([4, -1, 7]), { chunks: 2 });

  it('are accepted as operands and fill values; keys tell them apart', () => {
    expect(f.add(NaN).name).toBe(f.add(NaN).name);
    expect(f.add(NaN).name).not.toBe(f.add(Infinity).name);
    expect(f.add(Infinity).name).not.toBe(f.add(-Infinity).name);
    expect(ta.full([2], NaN).name).not.toBe(ta.full([2], 0).name);
    expect(i.add(NaN).dtype).toBe('float64');
    expect(i.maximum(-Infinity).dtype).toBe('float64');
    expect(ta.full([2], NaN, { dtype: 'float32' }).dtype).toBe('float32');
    // numpy: cannot convert float NaN (or infinity) to integer
    expect(() => ta.full([2], NaN, { dtype: 'int32' })).toThrow(InvalidArgumentError);
    expect(() => ta.full([2], Infinity, { dtype: 'uint8' })).toThrow(/full: cannot store Infinity in a uint8 array/);
    expect(() => ta.add(f, '1' as unknown as number)).toThrow(/add: operands must be arrays or numbers, got 1/);
  });

  it('propagate through arithmetic, maximum and minimum; compare false', async () => {
    const xs = [1, -2, 3, 0.5, -0];
    const nans = xs.map(() => NaN);
    expect(await values(f.add(NaN))).toEqual(nans);
    expect(await values(f.mul(NaN))).toEqual(nans);
    expect(await values(ta.maximum(f, NaN))).toEqual(nans);
    expect(await values(ta.minimum(NaN, f))).toEqual(nans);
    expect(await values(i.add(NaN))).toEqual([NaN, NaN, NaN]);
    expect(await values(ta.full([3], NaN, { chunks: 2 }))).toEqual([NaN, NaN, NaN]);
    expect(await values(ta.full([3], NaN, { dtype: 'float32' }))).toEqual([NaN, NaN, NaN]);
    expect(await values(f.eq(NaN))).toEqual([0, 0, 0, 0, 0]);
    expect(await values(f.ne(NaN))).toEqual([1, 1, 1, 1, 1]);
    expect(await values(f.lt(NaN))).toEqual([0, 0, 0, 0, 0]);
    expect(await values(f.add(Infinity))).toEqual(xs.map(() => Infinity));
    expect(await values(ta.minimum(f, -Infinity))).toEqual(xs.map(() => -Infinity));
    expect(await values(ta.maximum(f, -Infinity))).toEqual(xs);
    expect(await values(f.div(0))).toEqual(xs.map((v) => v / 0)); // ±Infinity, and NaN for 0/0
    // An array holding NaN: maximum/minimum take the NaN, where the other side is a number.
    const withNan = ta.fromArray([NaN, 2, 5, NaN], { chunks: 3 });
    const other = ta.fromArray([1, NaN, 4, 9], { chunks: 2 });
    expect(await values(ta.maximum(withNan, other))).toEqual([NaN, NaN, 5, NaN]);
    expect(await values(ta.minimum(withNan, 3))).toEqual([NaN, 2, 3, NaN]);
    expect(await values(withNan.add(other))).toEqual([NaN, NaN, 9, NaN]);
    expect(await values(ta.where(withNan.ne(withNan), 0, withNan))).toEqual([0, 2, 5, 0]); // isnan idiom
  });
});
