import { InvalidArgumentError, ShapeError, keyOp } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { mergeFactors } from './reductions.js';
import { countOps, graphOf, run, values } from '../test-util/graphs.js';

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

  it('result dtypes follow numpy (no int64: integer sums are float64)', () => {
    const i = ta.zeros([4], { dtype: 'int32' });
    const f32 = ta.zeros([4], { dtype: 'float32' });
    expect(i.sum().dtype).toBe('float64');
    expect(i.max().dtype).toBe('int32');
    expect(i.mean().dtype).toBe('float64');
    expect(f32.mean().dtype).toBe('float32');
    expect(f32.sum().dtype).toBe('float32');
    expect(i.argmin().dtype).toBe('int32');
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

describe('reductions: values (test interpreter)', () => {
  const rows = [0, 1, 2, 3];
  const cols = [0, 1, 2, 3, 4, 5];
  const all = [...data];
  it('sum, mean, min, max, prod', () => {
    close(values(x.sum()), [all.reduce((a, b) => a + b)]);
    close(values(x.sum({ axis: 0 })), cols.map((j) => rows.reduce((s, i) => s + at(i, j), 0)));
    close(values(x.mean({ axis: 1 })), rows.map((i) => cols.reduce((s, j) => s + at(i, j), 0) / 6));
    close(values(x.min({ axis: 0, splitEvery: 2 })), cols.map((j) => Math.min(...rows.map((i) => at(i, j)))));
    close(values(x.max()), [Math.max(...all)]);
    close(values(ta.fromArray([1, 2, 3, 4, 5], { chunks: 2 }).prod()), [120]);
  });
  it('var and std with ddof', () => {
    const m = all.reduce((a, b) => a + b) / all.length;
    const ss = all.reduce((a, b) => a + (b - m) ** 2, 0);
    close(values(x.var()), [ss / 24]);
    close(values(x.std({ ddof: 1 })), [Math.sqrt(ss / 23)]);
    const colVar = cols.map((j) => {
      const v = rows.map((i) => at(i, j));
      const mu = v.reduce((a, b) => a + b) / 4;
      return v.reduce((a, b) => a + (b - mu) ** 2, 0) / 3;
    });
    close(values(x.var({ axis: 0, ddof: 1 })), colVar);
  });
  it('argmin / argmax: flat index, or position along one axis', () => {
    const flatMin = all.indexOf(Math.min(...all));
    expect(values(x.argmin())).toEqual([flatMin]);
    expect(values(x.argmax({ axis: 0 }))).toEqual(cols.map((j) => {
      const v = rows.map((i) => at(i, j));
      return v.indexOf(Math.max(...v));
    }));
    expect(values(x.argmin({ axis: -1, keepdims: true }))).toEqual(rows.map((i) => {
      const v = cols.map((j) => at(i, j));
      return v.indexOf(Math.min(...v));
    }));
  });
  it('keepdims result and 0-d number', () => {
    const r = run(x.sum({ axis: 0, keepdims: true }));
    expect(typeof r === 'number' ? r : r.shape).toEqual([1, 6]);
    expect(typeof run(x.sum())).toBe('number');
  });
});
