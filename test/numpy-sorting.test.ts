// numpy is the oracle for sorting and selection: sort and argsort (numpy's kind='stable'), topk and
// argtopk (Dask's: the k largest first, or the |k| smallest; their numpy answer is a stable sort),
// searchsorted, isin, digitize, histogram, histogramdd, histogram2d, bincount and partition, on every dtype, odd shapes and chunkings (several blocks
// along the sorted axis, trees of several levels), NaN and infinities among the values, on the
// local engine and a cluster.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { DTYPES, expectMatch, numpyAnswers, values, wireArray, type NumpyCall, typedFrom, type WireArray } from './numpy-oracle.test-util.js';

interface Case {
  label: string;
  np: NumpyCall;
  build: () => ta.ChunkedArray | ta.ChunkedArray[];
  rel?: number;
}

function input(dtype: Dtype, shape: number[], chunks: number[] | number[][], salt = 0) {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = values(dtype, salt);
  // Repeats (ties) and the specials, in an order that is not sorted.
  const data = Array.from({ length: n }, (_, i) => base[(i * 7 + salt) % base.length]!);
  return { ours: ta.fromArray(typedFrom(dtype, data), { shape, chunks, dtype }), theirs: wireArray(dtype, data, shape), data };
}

/** numpy's order (NaN last) for a sorted input of our own. */
const numpyOrder = (a: number, b: number) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b);

function cases(): Case[] {
  const out: Case[] = [];
  for (const dtype of DTYPES) {
    const x = input(dtype, [7, 5], [3, 2]);
    const t = input(dtype, [4, 6, 5], [3, 4, 2], 1);
    for (const axis of [0, 1, -1, null] as const) {
      const kw = { axis, kind: 'stable' };
      out.push({ label: `sort(${dtype}, axis ${axis})`, np: { fn: 'sort', args: [x.theirs], kwargs: kw }, build: () => ta.sort(x.ours, { axis }) });
      out.push({ label: `argsort(${dtype}, axis ${axis})`, np: { fn: 'argsort', args: [x.theirs], kwargs: kw }, build: () => ta.argsort(x.ours, { axis }) });
    }
    if (dtype === 'float64' || dtype === 'float32') {
      // Signed zeros keep their order (a stable sort: -0 equals 0), NaN goes last.
      const z = [0, -0, 1, -0, NaN, 0, -1, -0];
      const zs = { ours: ta.fromArray(typedFrom(dtype, z), { chunks: [3], dtype }), theirs: wireArray(dtype, z, [z.length]) };
      out.push({ label: `sort(${dtype} signed zeros)`, np: { fn: 'sort', args: [zs.theirs], kwargs: { kind: 'stable' } }, build: () => ta.sort(zs.ours) });
      const nz = { ours: ta.fromArray(typedFrom(dtype, [NaN, 0]), { dtype }), theirs: wireArray(dtype, [NaN, 0], [2]) };
      out.push({ label: `isin(${dtype} NaN and zeros)`, np: { fn: 'isin', args: [zs.theirs, nz.theirs] }, build: () => ta.isin(zs.ours, nz.ours) });
      out.push({ label: `topk(${dtype} signed zeros, -5)`, np: { fn: 'topk', args: [zs.theirs, -5] }, build: () => ta.topk(zs.ours, -5, { splitEvery: 2 }) });
    }
    out.push({ label: `sort(${dtype} 3-d, axis 1)`, np: { fn: 'sort', args: [t.theirs], kwargs: { axis: 1, kind: 'stable' } }, build: () => t.ours.sort({ axis: 1 }) });
    out.push({ label: `argsort(${dtype} 3-d)`, np: { fn: 'argsort', args: [t.theirs], kwargs: { kind: 'stable' } }, build: () => t.ours.argsort() });

    // topk over 3 blocks (axis 0) or 3 (axis 1), splitEvery 2: trees of two levels; k past the axis gives it all.
    const long = input(dtype, [100], [7], 2);
    for (const [src, k, axis, splitEvery] of [
      [x, 3, 0, 2],
      [x, -2, 0, 2],
      [x, 2, 1, 2],
      [x, -4, -1, 8],
      [x, 9, 0, 2],
      [t, 3, 1, 2],
      [long, 10, 0, 3],
      [long, -13, 0, 2],
    ] as const) {
      const opts = { axis, splitEvery };
      out.push({ label: `topk(${dtype} ${src.ours.shape}, ${k}, axis ${axis})`, np: { fn: 'topk', args: [src.theirs, k], kwargs: { axis } }, build: () => ta.topk(src.ours, k, opts) });
      out.push({ label: `argtopk(${dtype} ${src.ours.shape}, ${k}, axis ${axis})`, np: { fn: 'argtopk', args: [src.theirs, k], kwargs: { axis } }, build: () => ta.argtopk(src.ours, k, opts) });
    }

    // searchsorted: a sorted array of this dtype in blocks of 4, with repeats (and NaN last).
    const sortedData = values(dtype, 3).concat(values(dtype, 0).slice(0, 9)).sort(numpyOrder);
    const a = { ours: ta.fromArray(typedFrom(dtype, sortedData), { chunks: [4], dtype }), theirs: wireArray(dtype, sortedData, [sortedData.length]) };
    for (const side of ['left', 'right'] as const) {
      out.push({ label: `searchsorted(${dtype}, side ${side})`, np: { fn: 'searchsorted', args: [a.theirs, x.theirs], kwargs: { side } }, build: () => ta.searchsorted(a.ours, x.ours, { side }) });
    }
    out.push({ label: `searchsorted(${dtype}, 7)`, np: { fn: 'searchsorted', args: [a.theirs, 7] }, build: () => a.ours.searchsorted(7) });
    if (dtype !== 'float64') {
      // Another dtype of values: numpy compares in the common one.
      const f = input('float64', [7, 5], [4, 4], 4);
      out.push({ label: `searchsorted(${dtype}, float64 values)`, np: { fn: 'searchsorted', args: [a.theirs, f.theirs] }, build: () => ta.searchsorted(a.ours, f.ours) });
    }

    // isin: test elements of this dtype in blocks of 5 (NaN among them for floats: never a match).
    const te = input(dtype, [3, 4], [2, 3], 5);
    for (const invert of [false, true]) {
      out.push({ label: `isin(${dtype}, invert ${invert})`, np: { fn: 'isin', args: [x.theirs, te.theirs], kwargs: { invert } }, build: () => ta.isin(x.ours, te.ours, { invert }) });
    }
    out.push({ label: `isin(${dtype}, a list)`, np: { fn: 'isin', args: [t.theirs, [0, 1, 7, 3, 100]] }, build: () => ta.isin(t.ours, [0, 1, 7, 3, 100]) });

    if (dtype !== 'float64' && dtype !== 'float32' && dtype !== 'uint64') {
      // bincount: small non-negative integers, in blocks of 6; without minlength the length is found first.
      const counted = values(dtype, 6).map((v) => Math.abs(v) % 23);
      const bx = { ours: ta.fromArray(typedFrom(dtype, counted), { chunks: [6], dtype }), theirs: wireArray(dtype, counted, [counted.length]) };
      const bw = input('float32', [counted.length], [10], 7);
      out.push({ label: `bincount(${dtype})`, np: { fn: 'bincount', args: [bx.theirs] }, build: () => ta.bincount(bx.ours) });
      out.push({ label: `bincount(${dtype}, minlength 30)`, np: { fn: 'bincount', args: [bx.theirs], kwargs: { minlength: 30 } }, build: () => ta.bincount(bx.ours, { minlength: 30 }) });
      out.push({ label: `bincount(${dtype}, float32 weights)`, np: { fn: 'bincount', args: [bx.theirs], kwargs: { weights: bw.theirs } }, build: () => ta.bincount(bx.ours, { weights: bw.ours }), rel: 1e-12 });
    }

    const up = [-5, 0, 0, 2.5, 10, 200];
    for (const right of [false, true]) {
      out.push({ label: `digitize(${dtype}, increasing, right ${right})`, np: { fn: 'digitize', args: [x.theirs, up], kwargs: { right } }, build: () => ta.digitize(x.ours, up, { right }) });
      const down = [...up].reverse();
      out.push({ label: `digitize(${dtype}, decreasing, right ${right})`, np: { fn: 'digitize', args: [x.theirs, down], kwargs: { right } }, build: () => ta.digitize(x.ours, down, { right }) });
    }

    {
      const range = [-10, 150] as const;
      out.push({ label: `histogram(${dtype}, 7 bins)`, np: { fn: 'histogram', args: [t.theirs], kwargs: { bins: 7, range } }, build: () => ta.histogram(t.ours, { bins: 7, range }) });
      out.push({ label: `histogram(${dtype}, one-value range)`, np: { fn: 'histogram', args: [x.theirs], kwargs: { bins: 3, range: [2, 2] } }, build: () => ta.histogram(x.ours, { bins: 3, range: [2, 2] }) });
      const edges = [-100, -1, 0, 0.5, 3, 3, 100, 1e6];
      out.push({ label: `histogram(${dtype}, edges)`, np: { fn: 'histogram', args: [x.theirs], kwargs: { bins: edges } }, build: () => ta.histogram(x.ours, { bins: edges }) });
      const w = input('float64', [4, 6, 5], [2, 3, 5], 5);
      const w32 = input('float32', [4, 6, 5], [4, 6, 1], 6);
      out.push({ label: `histogram(${dtype}, float64 weights)`, np: { fn: 'histogram', args: [t.theirs], kwargs: { bins: 5, range, weights: w.theirs } }, build: () => ta.histogram(t.ours, { bins: 5, range, weights: w.ours }), rel: 1e-12 });
      out.push({ label: `histogram(${dtype}, float32 weights)`, np: { fn: 'histogram', args: [t.theirs], kwargs: { bins: 5, range, weights: w32.theirs } }, build: () => ta.histogram(t.ours, { bins: 5, range, weights: w32.ours }), rel: 1e-6 });
      out.push({ label: `histogram(${dtype}, density)`, np: { fn: 'histogram', args: [t.theirs], kwargs: { bins: edges, density: true } }, build: () => ta.histogram(t.ours, { bins: edges, density: true }), rel: 1e-12 });
    }

    {
      // histogramdd of an (N, 3) sample in blocks of rows and columns, and of three 1-d arrays in other chunks.
      const s = input(dtype, [23, 3], [[5, 9, 9], [2, 1]], 7);
      const range = [[-10, 150], [-10, 150], [0, 100]] as const;
      const bins = [4, [-100, -1, 0, 0.5, 3, 3, 100, 1e6], 3];
      out.push({ label: `histogramdd(${dtype} (N, D))`, np: { fn: 'histogramdd', args: [s.theirs], kwargs: { bins, range } }, build: () => { const [h, es] = ta.histogramdd(s.ours, { bins, range }); return [h, ...es]; } });
      const cols = [0, 1, 2].map((k) => input(dtype, [23], [[[4, 10, 9]], [[23]], [[11, 12]]][k]!, 8 + k));
      const w = input('float64', [23], [7], 11);
      out.push({
        label: `histogramdd(${dtype} arrays, weights, density)`,
        np: { fn: 'histogramdd', args: [cols.map((c) => c.theirs)], kwargs: { bins: 3, range, weights: w.theirs, density: true } },
        build: () => { const [h, es] = ta.histogramdd(cols.map((c) => c.ours), { bins: 3, range, weights: w.ours, density: true }); return [h, ...es]; },
        rel: 1e-12,
      });
      const [cx, cy] = [cols[0]!, cols[2]!];
      out.push({ label: `histogram2d(${dtype})`, np: { fn: 'histogram2d', args: [cx.theirs, cy.theirs], kwargs: { bins: [5, 2], range: [range[0], range[2]] } }, build: () => ta.histogram2d(cx.ours, cy.ours, { bins: [5, 2], range: [range[0], range[2]] }) });
      const e3 = [-5, 0, 2.5, 7, 64]; // float edges: ours are float64 (a JS list cannot say int64)
      out.push({ label: `histogram2d(${dtype}, the same edges for both)`, np: { fn: 'histogram2d', args: [cx.theirs, cy.theirs], kwargs: { bins: e3 } }, build: () => ta.histogram2d(cx.ours, cy.ours, { bins: e3 }) });
    }

    // partition: numpy leaves the order inside each side open; ours is the sorted lane, a valid one.
    for (const [kth, axis] of [[3, 0], [[0, -1], 1], [-2, null]] as const) {
      const kw = { axis, kind: 'stable' };
      out.push({ label: `partition(${dtype}, kth ${JSON.stringify(kth)}, axis ${axis})`, np: { fn: 'sort', args: [x.theirs], kwargs: kw }, build: () => ta.partition(x.ours, kth, { axis }) });
      out.push({ label: `argpartition(${dtype}, kth ${JSON.stringify(kth)}, axis ${axis})`, np: { fn: 'argsort', args: [x.theirs], kwargs: kw }, build: () => ta.argpartition(x.ours, kth, { axis }) });
    }
  }
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe.each(['local', 'cluster'] as const)('numpy sorting and selection on the %s engine', (engine) => {
  const e = engineClient(engine);

  it(`${CASES.length} cases match numpy`, { timeout: 240_000 }, async () => {
    const built = CASES.map((c) => c.build());
    const got = (await e.client.compute(built.flat())) as ta.NDArray[];
    let k = 0;
    CASES.forEach((c, i) => {
      const want = numpy.answers[i]!;
      if ('error' in want) expect.fail(`${c.label}: numpy refused: ${want.error}`);
      const wants: WireArray[] = 'list' in want ? want.list : [want];
      const b = built[i]!;
      expect(Array.isArray(b) ? b.length : 1, `${c.label}: number of arrays`).toBe(wants.length);
      wants.forEach((w, j) => expectMatch(wants.length > 1 ? `${c.label}[${j}]` : c.label, got[k + j]!, w, c.rel === undefined ? {} : { rel: c.rel }));
      k += wants.length;
    });
  });
});

describe('sorting and selection refuse what numpy and Dask refuse', () => {
  const x = ta.ones([4, 3], { chunks: [2, 2] });
  it('names the bad argument', () => {
    expect(() => ta.sort(x, { axis: 2 })).toThrow(/sort: axis 2 is out of bounds/);
    expect(() => ta.topk(x, 0)).toThrow(/topk: k must be a non-zero integer/);
    expect(() => ta.argtopk(x, 2, { splitEvery: 1 })).toThrow(/splitEvery must be an integer >= 2/);
    expect(() => ta.searchsorted(x, 1)).toThrow(/searchsorted: a must be 1-d/);
    expect(() => ta.searchsorted(ta.ones([3]), 1, { side: 'middle' as 'left' })).toThrow(/side must be 'left' or 'right'/);
    expect(() => ta.digitize(x, [1, 0, 2])).toThrow(/monotonically increasing or decreasing/);
    expect(() => ta.histogram(x, { bins: 4 })).toThrow(/give range/);
    expect(() => ta.partition(x, 3)).toThrow(/partition: kth\(=3\) out of bounds \(3\)/);
    expect(() => ta.argpartition(x, [0, -5], { axis: 0 })).toThrow(/kth\(=-5\) out of bounds \(4\)/);
    expect(() => ta.histogramdd(x, { bins: 3 })).toThrow(/histogramdd: give range for dimension 0/);
    expect(() => ta.histogramdd(x, { bins: [2, 2] })).toThrow(/bins for 2 dimensions, the sample has 3/);
    expect(() => ta.histogramdd([ta.ones([3]), ta.ones([4])], { bins: [[0, 1], [0, 1]] })).toThrow(/coordinate arrays differ in shape/);
    expect(() => ta.histogram2d(ta.ones([3]), ta.ones([3]), { bins: [[0, 2, 1], [0, 1]] })).toThrow(/increase monotonically, in dimension 0/);
    expect(() => ta.histogram(x, { bins: [0, 2, 1] })).toThrow(/increase monotonically/);
    expect(() => ta.histogram(x, { bins: 3, range: [1, 0] })).toThrow(/max must be larger than min/);
    expect(() => ta.histogram(x, { bins: 3, range: [0, 1], weights: ta.ones([3, 4]) })).toThrow(/weights of shape \(3, 4\)/);
    expect(() => ta.bincount(ta.ones([3]))).toThrow(ta.DtypeError);
    expect(() => ta.bincount(ta.arange(0, 3, { dtype: 'uint64' }))).toThrow(/cannot cast uint64 to int64 safely/);
    expect(() => ta.bincount(ta.arange(0, 6).reshape([2, 3]))).toThrow(/x must be 1-d/);
    expect(() => ta.bincount(ta.arange(0, 3), { minlength: -1 })).toThrow(/minlength must be a non-negative integer/);
  });

  it('bincount of a negative value, or of one past minlength, fails its task with a message naming it', async () => {
    const client = await ta.Client.connect({ threads: 1 });
    try {
      await expect(client.compute(ta.bincount(ta.fromArray(Int32Array.from([1, -2, 3]))))).rejects.toThrow(/must not be negative, got -2/);
      await expect(client.compute(ta.bincount(ta.arange(0, 9, { chunks: [4] }), { minlength: 5 }))).rejects.toThrow(/value [5-8] is not below the result's length 5/);
      const unknown = ta.bincount(ta.fromArray(Int32Array.from([0, 4, 4]), { chunks: [2] }));
      expect(unknown.shape[0]).toBeNaN();
      expect((await client.computeChunkSizes(unknown)).shape).toEqual([5]);
    } finally {
      await client.close();
    }
  });
});
