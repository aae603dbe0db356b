import { InvalidArgumentError, ShapeError } from '@tessera/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { computeList, connectLocal } from '../test-util/engine.js';
import { countOps, graphOf } from '../test-util/graphs.js';

let client: ta.Client;
beforeAll(async () => {
  client = await connectLocal();
});
afterAll(async () => {
  await client?.close();
});
const values = (a: ta.ChunkedArray, opts?: ta.ComputeOptions) => computeList(client, a, opts);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const iota = (shape: number[], chunks: ta.ChunksSpec) =>
  ta.fromArray(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i), { shape, chunks });

/** Python's range(start, stop, step) semantics for the references. */
const pyRange = (n: number, start: number | undefined, stop: number | undefined, step = 1): number[] => {
  const out: number[] = [];
  const norm = (v: number | undefined, d: number) => (v === undefined ? d : v < 0 ? Math.max(v + n, step > 0 ? 0 : -1) : Math.min(v, step > 0 ? n : n - 1));
  const s = norm(start, step > 0 ? 0 : n - 1);
  const e = norm(stop, step > 0 ? n : -1);
  for (let i = s; step > 0 ? i < e : i > e; i += step) out.push(i);
  return out;
};

describe('transpose', () => {
  it('shape, chunks, values; identity is a no-op', async () => {
    const x = iota([2, 3], [1, 2]);
    expect(x.T.shape).toEqual([3, 2]);
    expect(x.T.chunks).toEqual([[2, 1], [1, 1]]);
    expect(await values(x.T)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(await values(x.T, { fuse: false })).toEqual([0, 3, 1, 4, 2, 5]);
    const y = iota([2, 3, 4], [1, 2, 3]);
    expect(y.transpose([1, 0, 2]).shape).toEqual([3, 2, 4]);
    const want: number[] = [];
    for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) want.push(i * 12 + j * 4 + k);
    expect(await values(y.transpose([1, 0, 2]))).toEqual(want);
    expect(y.transpose([0, 1, 2])).toBe(y);
    expect(y.transpose([-1, 0, 1]).shape).toEqual([4, 2, 3]);
    expect(() => y.transpose([0, 0, 1])).toThrow(/transpose: axes \[0,0,1\] are not a permutation of the 3 axes of \(2, 3, 4\)/);
  });
});

describe('slice', () => {
  const x = iota([7, 9], [3, 4]);
  const ref = (rs: number[], cs: number[]) => rs.flatMap((r) => cs.map((c) => r * 9 + c));
  it('Python semantics incl. negatives and negative steps', async () => {
    const cases: [ta.SliceSpec, ta.SliceSpec, number[], number[]][] = [
      [{ start: 1, stop: 5 }, null, pyRange(7, 1, 5), pyRange(9, undefined, undefined)],
      [{ step: 2 }, { start: -3 }, pyRange(7, undefined, undefined, 2), pyRange(9, -3, undefined)],
      [{ step: -1 }, { start: 7, stop: 1, step: -3 }, pyRange(7, undefined, undefined, -1), pyRange(9, 7, 1, -3)],
      [{ start: -2, stop: -8, step: -2 }, { stop: -1, step: 4 }, pyRange(7, -2, -8, -2), pyRange(9, undefined, -1, 4)],
      [{ start: 100 }, null, [], pyRange(9, undefined, undefined)],
    ];
    for (const [a, b, rs, cs] of cases) {
      const y = x.slice(a, b);
      expect(y.shape).toEqual([rs.length, cs.length]);
      expect(await values(y)).toEqual(ref(rs, cs));
    }
  });
  it('integer indices drop the axis; errors name the axis and size', async () => {
    expect(x.slice(2).shape).toEqual([9]);
    expect(await values(x.slice(2))).toEqual(ref([2], pyRange(9, undefined, undefined)));
    expect(await values(x.slice(null, -1))).toEqual(ref(pyRange(7, undefined, undefined), [8]));
    expect(await values(x.slice(-1, 4))).toEqual([6 * 9 + 4]);
    expect(x.slice(-1, 4).shape).toEqual([]);
    expect(() => x.slice(7)).toThrow(InvalidArgumentError);
    expect(() => x.slice(7)).toThrow('slice: index 7 is out of bounds for axis 0 with size 7');
    expect(() => x.slice({ step: 0 })).toThrow(/step must be a non-zero integer/);
    expect(() => x.slice(0, 0, 0)).toThrow(/3 indices for the 2-d array/);
    expect(x.slice()).toBe(x);
  });
  it('only the touched blocks are in the graph (culling)', () => {
    const big = ta.random.uniform([100_000, 1000], { chunks: [1000, 100], seed: 1 }); // 1000 blocks
    const s = big.slice({ start: 1500, stop: 1600 }, { start: 250, stop: 260 });
    const g = graphOf(s);
    expect(countOps(g)).toEqual({ random: 1, assemble: 1 });
    const g2 = graphOf(big.slice({ start: 900, stop: 1100 }, 5));
    expect(countOps(g2)).toEqual({ random: 2, assemble: 2, reshape: 2 });
  });
});

describe('rechunk', () => {
  it('assembles each output block from the overlapping input blocks', async () => {
    const x = iota([6, 5], [4, 2]);
    const y = x.rechunk([3, [1, 4]]);
    expect(y.chunks).toEqual([[3, 3], [1, 4]]);
    const g = graphOf(y);
    const t = g.tasks.find((u) => u.key === y.key([1, 1]))!;
    expect(t.deps).toHaveLength(6); // rows 3..6 touch 2 input blocks, cols 1..5 touch 3
    expect(await values(y)).toEqual(range(30));
    expect(x.rechunk([4, 2])).toBe(x);
    expect(() => x.rechunk([[5, 5], 2])).toThrow(/rechunk: chunks \(5, 5\) for axis 0 sum to 10, but the axis has size 6/);
  });
});

describe('reshape', () => {
  it('merges axes chunked by whole rows and splits blocks evenly', async () => {
    const x = iota([6, 4], [2, 4]);
    const flat = x.reshape([24]);
    expect(flat.chunks).toEqual([[8, 8, 8]]);
    expect(await values(flat)).toEqual(range(24));
    const back = flat.reshape([-1, 4]);
    expect(back.shape).toEqual([6, 4]);
    expect(back.chunks).toEqual([[2, 2, 2], [4]]);
    const y = iota([4, 6], [2, 6]).reshape([8, 3]);
    expect(y.chunks).toEqual([[4, 4], [3]]);
    expect(await values(y)).toEqual(range(24));
    expect(iota([6, 4], [3, 4]).reshape([4, 6]).chunks).toEqual([[2, 2], [6]]);
    expect(x.reshape([6, 1, 4, 1]).chunks).toEqual([[2, 2, 2], [1], [4], [1]]);
    expect(await values(x.reshape([1, 6, 4]).reshape([6, 4]))).toEqual(range(24));
    expect(x.reshape([6, 4])).toBe(x);
    expect(countOps(graphOf(flat))).toEqual({ 'from-bytes': 3, reshape: 3 });
  });
  it('any chunking: rechunked first where blocks do not map one to one (Dask), errors naming the shapes', async () => {
    const x = iota([6, 4], [3, 2]);
    const flat = x.reshape([24]);
    expect(flat.chunks).toEqual([[12, 12]]);
    expect(await values(flat)).toEqual(range(24));
    expect(countOps(graphOf(flat))).toMatchObject({ reshape: 2 });
    const odd = iota([24], 5).reshape([6, 4]);
    expect(await values(odd)).toEqual(range(24));
    expect(await values(iota([5, 7, 3], [2, 3, 2]).reshape([7, 15]))).toEqual(range(105));
    expect(() => x.reshape([5, 5])).toThrow(ShapeError);
    expect(() => x.reshape([5, 5])).toThrow(/cannot reshape array of shape \(6, 4\) \(size 24\) into shape \(5, 5\)/);
    expect(() => x.reshape([-1, -1])).toThrow(InvalidArgumentError);
  });
});

describe('concatenate and stack', () => {
  it('concatenate along an axis, promoting dtypes, unifying the other axes', async () => {
    const a = iota([2, 3], [1, 3]);
    const b = ta.fromArray(new Int32Array([10, 11, 12]), { shape: [1, 3], chunks: [1, 2] });
    const c = ta.concatenate([a, b], { axis: 0 });
    expect(c.shape).toEqual([3, 3]);
    expect(c.dtype).toBe('float64');
    expect(c.chunks).toEqual([[1, 1, 1], [2, 1]]);
    expect(await values(c)).toEqual([0, 1, 2, 3, 4, 5, 10, 11, 12]);
    expect(await values(a.concatenate([a], { axis: -1 }))).toEqual([0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
    expect(() => ta.concatenate([a, iota([2, 2], 2)], { axis: 0 })).toThrow('concatenate: shapes (2, 3) and (2, 2) differ outside axis 0');
    expect(() => ta.concatenate([a, b], { axis: 2 })).toThrow(/concatenate: axis 2 is out of bounds/);
  });
  it('stack along a new axis', async () => {
    const a = iota([2, 3], [1, 2]);
    const b = a.add(100).astype('float32');
    const s = ta.stack([a, b], { axis: 1 });
    expect(s.shape).toEqual([2, 2, 3]);
    expect(s.dtype).toBe('float64');
    expect(s.chunks).toEqual([[1, 1], [1, 1], [2, 1]]);
    expect(await values(s)).toEqual([0, 1, 2, 100, 101, 102, 3, 4, 5, 103, 104, 105]);
    expect(ta.stack([a, a], { axis: -1 }).shape).toEqual([2, 3, 2]);
    expect(() => ta.stack([a, iota([3, 2], 2)])).toThrow(/stack: all arrays must have the same shape, got \(2, 3\) and \(3, 2\)/);
  });
});

describe('matmul and tensordot', () => {
  const aData = range(12);
  const bData = range(8).map((i) => i - 3);
  const A = iota([3, 4], [2, 3]);
  const B = ta.fromArray(Float64Array.from(bData), { shape: [4, 2], chunks: [2, 1] });
  const ref = (a: number[], b: number[], n: number, k: number, m: number) =>
    Array.from({ length: n * m }, (_, o) => {
      let s = 0;
      for (let j = 0; j < k; j++) s += a[Math.floor(o / m) * k + j]! * b[j * m + (o % m)]!;
      return s;
    });
  it('matmul: one tensordot task per output block with all contraction blocks', async () => {
    const C = A.matmul(B);
    expect(C.shape).toEqual([3, 2]);
    expect(C.chunks).toEqual([[2, 1], [1, 1]]);
    const g = graphOf(C);
    const t = g.tasks.find((u) => u.key === C.key([0, 0]))!;
    expect(t.op).toBe('tensordot');
    expect(t.params).toEqual({ axesA: [1], axesB: [0], pairs: 3 }); // contraction unified to (2, 1, 1)
    expect(await values(C)).toEqual(ref(aData, bData, 3, 4, 2));
    expect(() => A.matmul(A)).toThrow('matmul: shapes (3, 4) and (3, 4) are not aligned: 4 (axis 1) != 3 (axis 0)');
    expect(() => ta.matmul(iota([3], 3), A)).toThrow(/matmul: expects 2-D arrays/);
    expect(A.astype('int32').matmul(B.astype('float32')).dtype).toBe('float64');
  });
  it('tensordot: integer and explicit axes', async () => {
    expect(ta.tensordot(A, B, { axes: 1 }).shape).toEqual([3, 2]);
    expect(await values(ta.tensordot(A, B, { axes: [[1], [0]] }))).toEqual(ref(aData, bData, 3, 4, 2));
    const full = ta.tensordot(A, A, { axes: [[0, 1], [0, 1]] });
    expect(full.shape).toEqual([]);
    expect(await values(full)).toEqual([aData.reduce((s, v) => s + v * v, 0)]);
    expect(ta.tensordot(iota([2], 2), iota([3], 3), { axes: 0 }).shape).toEqual([2, 3]);
    expect(() => ta.tensordot(A, B, { axes: [[0], [0]] })).toThrow(ShapeError);
  });
});
