import { InvalidArgumentError, ShapeError, keyOp } from '@tessera/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { mergeFactors } from './reductions.js';
import { computeList, connectLocal } from '../test-util/engine.js';
import { countOps, graphOf } from '../test-util/graphs.js';

const data = Float64Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) - 3.5);
const x = ta.fromArray(data, { shape: [4, 6], chunks: [3, 4] });
const at = (i: number, j: number) => data[i * 6 + j]!;
const close = (got: number[], want: number[]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 10));
};

describe('reductions: shapes and dtypes', () => {
  it('axis, negative axis, keepdims, full reduction is 0-d', () => {
    expect(x.sum().shape).toEqual([]);
    expect(x.sum()).toBeInstanceOf(ta.ChunkedScalar);
    expect(ta.sum(x, { axis: 0 }).shape).toEqual([6]);
    expect(x.sum({ axis: -1 }).shape).toEqual([4]);
    expect(x.sum({ axis: [0, 1], keepdims: true }).shape).toEqual([1, 1]);
    expect(x.mean({ axis: 1, keepdims: true }).chunks).toEqual([[3, 1], [1]]);
    expect(x.max({ axis: 0 }).chunks).toEqual([[4, 2]]);
  });

  it('result dtypes follow numpy (integer sums and products are int64 / uint64)', () => {
    const i = ta.zeros([4], { dtype: 'int32' });
    const f32 = ta.zeros([4], { dtype: 'float32' });
    expect(i.sum().dtype).toBe('int64');
    expect(i.prod().dtype).toBe('int64');
    expect(ta.zeros([4], { dtype: 'uint16' }).sum().dtype).toBe('uint64');
    expect(i.argmax().dtype).toBe('int64');
    expect(i.max().dtype).toBe('int32');
    expect(i.mean().dtype).toBe('float64');
    expect(f32.mean().dtype).toBe('float32');
    expect(f32.sum().dtype).toBe('float32');
    expect(i.argmin().dtype).toBe('int64');
  });

  it('errors at build time', () => {
    expect(() => x.sum({ axis: 2 })).toThrow(InvalidArgumentError);
    expect(() => x.sum({ axis: 2 })).toThrow(/sum: axis 2 is out of bounds for an array of dimension 2/);
    expect(() => x.sum({ axis: [0, -2] })).toThrow(/sum: axis 0 is repeated/);
    expect(() => x.argmin({ axis: [0] as unknown as number })).toThrow(/argmin: axis must be a single number/);
    expect(() => x.sum({ splitEvery: 1 })).toThrow(/splitEvery/);
    expect(() => x.var({ ddof: -1 })).toThrow(/ddof/);
    const empty = ta.zeros([0, 3]);
    expect(() => empty.min()).toThrow(ShapeError);
    expect(() => empty.max({ axis: 0 })).toThrow(/max: cannot reduce an empty extent of shape \(0, 3\)/);
    expect(() => empty.argmax()).toThrow(ShapeError);
    expect(empty.max({ axis: 1 }).shape).toEqual([0]); // nothing empty is reduced
    expect(empty.sum().shape).toEqual([]);
  });
});

describe('reductions: tree structure', () => {
  it('mergeFactors stays within splitEvery and balances axes', () => {
    expect(mergeFactors([8, 8], 4)).toEqual([2, 2]);
    expect(mergeFactors([3], 4)).toEqual([3]);
    expect(mergeFactors([1, 1], 4)).toEqual([1, 1]);
    const f = mergeFactors([8, 8, 8], 4);
    expect(f.reduce((a, b) => a * b)).toBeLessThanOrEqual(4);
  });

  it('64 blocks with splitEvery 4: 64 partials, then 16, 4 and 1 merges', () => {
    const y = ta.random.uniform([80, 80], { chunks: 10, seed: 1 });
    const g = graphOf(y.sum(), { fuse: false });
    expect(countOps(g)).toEqual({ random: 64, 'reduce-partial': 64, 'reduce-merge': 21 });
    for (const t of g.tasks) if (t.op === 'reduce-merge') expect(t.deps.length).toBeLessThanOrEqual(4);
    const levels = new Set(g.tasks.filter((t) => t.op === 'reduce-merge').map((t) => keyOp(t.key)));
    expect([...levels].sort()).toEqual(['sum', 'sum-merge']);
    const final = g.tasks.find((t) => t.key === y.sum().key([]))!;
    expect(final.params).toEqual({ kind: 'sum', axes: [0, 1], final: { dtype: 'float64', keepdims: false, ddof: 0 } });
  });

  it('splitEvery controls the depth; merges only group partials of one non-reduced block', () => {
    const y = ta.random.uniform([64, 30], { chunks: [1, 10], seed: 1 }); // 64 blocks along axis 0
    const depth = (s: number) => {
      const g = graphOf(y.mean({ axis: 0, splitEvery: s }), { fuse: false });
      const merges = g.tasks.filter((t) => t.op === 'reduce-merge');
      for (const m of merges) {
        expect(m.deps.length).toBeLessThanOrEqual(s);
        // every partial merged together has the same column block index
        expect(new Set(m.deps.map((d) => d.split(':')[1]!.split(',')[1])).size).toBe(1);
      }
      return merges.length / 3; // three column blocks
    };
    expect(depth(2)).toBe(32 + 16 + 8 + 4 + 2 + 1);
    expect(depth(4)).toBe(16 + 4 + 1);
    expect(depth(8)).toBe(8 + 1);
    expect(depth(64)).toBe(1);
  });

  it('a single block still has partial then final merge', () => {
    const g = graphOf(ta.ones([5]).sum(), { fuse: false });
    expect(countOps(g)).toEqual({ full: 1, 'reduce-partial': 1, 'reduce-merge': 1 });
  });
});

describe('reductions: values (local engine)', () => {
  let client: ta.Client;
  beforeAll(async () => {
    client = await connectLocal();
  });
  afterAll(async () => {
    await client?.close();
  });
  const values = (a: ta.ChunkedArray) => computeList(client, a);
  const rows = [0, 1, 2, 3];
  const cols = [0, 1, 2, 3, 4, 5];
  const all = [...data];
  const column = (j: number) => rows.map((i) => at(i, j));
  const row = (i: number) => cols.map((j) => at(i, j));

  it('sum, mean, min, max, prod', async () => {
    close(await values(x.sum()), [all.reduce((a, b) => a + b)]);
    close(await values(x.sum({ axis: 0 })), cols.map((j) => rows.reduce((s, i) => s + at(i, j), 0)));
    close(await values(x.mean({ axis: 1 })), rows.map((i) => cols.reduce((s, j) => s + at(i, j), 0) / 6));
    close(await values(x.min({ axis: 0, splitEvery: 2 })), cols.map((j) => Math.min(...column(j))));
    close(await values(x.max()), [Math.max(...all)]);
    close(await values(ta.fromArray([1, 2, 3, 4, 5], { chunks: 2 }).prod()), [120]);
    const i = ta.fromArray(new Int32Array([5, -7, 3, 9, 0]), { chunks: 2 });
    const imax = await client.compute(i.max());
    expect(imax).toBe(9);
    expect(await client.compute(i.sum())).toBe(10);
  });
  it('var and std with ddof', async () => {
    const m = all.reduce((a, b) => a + b) / all.length;
    const ss = all.reduce((a, b) => a + (b - m) ** 2, 0);
    close(await values(x.var()), [ss / 24]);
    close(await values(x.std({ ddof: 1 })), [Math.sqrt(ss / 23)]);
    const colVar = cols.map((j) => {
      const v = column(j);
      const mu = v.reduce((a, b) => a + b) / 4;
      return v.reduce((a, b) => a + (b - mu) ** 2, 0) / 3;
    });
    close(await values(x.var({ axis: 0, ddof: 1 })), colVar);
  });
  it('argmin / argmax: flat index, or position along one axis', async () => {
    const flatMin = all.indexOf(Math.min(...all));
    expect(await values(x.argmin())).toEqual([flatMin]);
    expect(await values(x.argmax({ axis: 0 }))).toEqual(cols.map((j) => column(j).indexOf(Math.max(...column(j)))));
    expect(await values(x.argmin({ axis: -1, keepdims: true }))).toEqual(rows.map((i) => row(i).indexOf(Math.min(...row(i)))));
    // ties: the first index wins, also across blocks
    expect(await values(ta.fromArray([3, 1, 2, 1, 1], { chunks: 2 }).argmin({ splitEvery: 2 }))).toEqual([1]);
  });
  it('keepdims result and 0-d number', async () => {
    const r = await client.compute(x.sum({ axis: 0, keepdims: true }));
    expect(r.shape).toEqual([1, 6]);
    expect(typeof (await client.compute(x.sum()))).toBe('number');
  });

  describe('NaN (numpy: min/max/sum propagate it; argmin/argmax give the first NaN)', () => {
    // NaNs at flat 7 = (1, 1) and 15 = (2, 3), in different blocks of the (3, 4) chunking.
    const nanData = Float64Array.from(data, (v, k) => (k === 7 || k === 15 ? NaN : v));
    const y = ta.fromArray(nanData, { shape: [4, 6], chunks: [3, 4] });
    const nat = (i: number, j: number) => nanData[i * 6 + j]!;
    /** numpy's min/max: NaN if any element is NaN. */
    const npMin = (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.min(...v));
    const npMax = (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.max(...v));
    /** numpy's argmin/argmax: the first NaN, else the first extreme. */
    const npArg = (v: number[], better: (a: number, b: number) => boolean) => {
      let best = 0;
      for (let k = 0; k < v.length; k++) {
        if (Number.isNaN(v[k]!)) return k;
        if (better(v[k]!, v[best]!)) best = k;
      }
      return best;
    };
    const ycol = (j: number) => rows.map((i) => nat(i, j));
    const yrow = (i: number) => cols.map((j) => nat(i, j));

    it('min, max, sum, mean of the whole array are NaN', async () => {
      expect(await client.compute(y.min())).toBeNaN();
      expect(await client.compute(y.max({ splitEvery: 2 }))).toBeNaN();
      expect(await client.compute(y.sum())).toBeNaN();
      expect(await client.compute(y.mean())).toBeNaN();
    });
    it('along an axis only the lanes holding a NaN are NaN', async () => {
      const mins = await values(y.min({ axis: 0 }));
      expect(mins).toEqual(cols.map((j) => npMin(ycol(j))));
      expect(mins.filter(Number.isNaN)).toHaveLength(2);
      expect(await values(y.max({ axis: 1 }))).toEqual(rows.map((i) => npMax(yrow(i))));
      expect(await values(ta.maximum(y, 0).max({ axis: 1 }))).toEqual(rows.map((i) => npMax(yrow(i).map((v) => (Number.isNaN(v) ? v : Math.max(v, 0))))));
    });
    it('argmin / argmax: the first NaN wins', async () => {
      expect(await client.compute(y.argmin())).toBe(7);
      expect(await client.compute(y.argmax({ splitEvery: 2 }))).toBe(7);
      // NaN only in the last block: still found
      const late = ta.fromArray([5, 1, 2, 0, 3, NaN, 4, NaN], { chunks: 3 });
      expect(await client.compute(late.argmin())).toBe(5);
      expect(await client.compute(late.argmax({ splitEvery: 2 }))).toBe(5);
      expect(await client.compute(late.min())).toBeNaN();
      expect(await values(y.argmin({ axis: 0 }))).toEqual(cols.map((j) => npArg(ycol(j), (a, b) => a < b)));
      expect(await values(y.argmax({ axis: 1 }))).toEqual(rows.map((i) => npArg(yrow(i), (a, b) => a > b)));
    });
    it('NaN made by a constant in the same graph', async () => {
      const z = x.add(ta.where(x.gt(4), NaN, 0));
      const zs = all.map((v) => (v > 4 ? NaN : v));
      expect(zs.some(Number.isNaN)).toBe(true);
      expect(await client.compute(z.argmin())).toBe(zs.findIndex(Number.isNaN));
      expect(await client.compute(z.max())).toBeNaN();
      expect(await client.compute(ta.where(x.lt(100), x, NaN).max())).toBe(Math.max(...all)); // NaN never selected
    });
  });
});
