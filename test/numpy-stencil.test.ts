// Neighbourhoods and differences against the reference tools: overlap against dask.array's own
// overlap (every boundary, per-axis depths and boundaries, asymmetric depths), mapOverlap with
// user kernels against scipy.ndimage (laplace; a box filter whose radius reaches past the next
// block), diff, gradient (steps, uneven coordinates, edgeOrder 2), correlate and convolve
// (every mode, the longer array second, integer, bool and mixed dtypes) against numpy, on odd
// shapes and chunkings, on the local engine and a cluster.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { expectMatch, numpyAnswers, typedFrom, values, wireArray, type NumpyCall, type WireArray } from './numpy-oracle.test-util.js';

const KERNELS = [new URL('./fixtures/stencil-kernels.mjs', import.meta.url).pathname];

interface Case {
  label: string;
  np: NumpyCall;
  build: () => ta.ChunkedArray | ta.ChunkedArray[];
  rel?: number;
  abs?: number;
}

function input(dtype: Dtype, shape: number[], chunks: number[] | number[][], salt = 0, finite = false) {
  const n = shape.reduce((a, b) => a * b, 1);
  const base = values(dtype, salt).filter((v) => !finite || (Number.isFinite(v) && Math.abs(v) < 1e6));
  const data = Array.from({ length: n }, (_, i) => base[(i * 7 + salt) % base.length]!);
  return { ours: ta.fromArray(typedFrom(dtype, data), { shape, chunks, dtype }), theirs: wireArray(dtype, data, shape) };
}

/** Dask's boundary as scipy.ndimage names it. */
const SCIPY_MODE = { reflect: 'reflect', periodic: 'wrap', nearest: 'nearest' } as const;

function cases(): Case[] {
  const out: Case[] = [];
  const add = (label: string, np: NumpyCall, build: Case['build'], more: Partial<Case> = {}) => out.push({ label, np, build, ...more });

  // overlap: dask's own answer, with every block at least as long as the depth (dask would rechunk otherwise).
  const chunks = [[4, 4, 3], [5, 3, 5]];
  for (const dtype of ['float64', 'float32', 'int64', 'uint8', 'bool'] as Dtype[]) {
    const x = input(dtype, [11, 13], chunks);
    const dask = (depth: object, boundary: object) => ({ fn: 'dask.overlap', args: [x.theirs], kwargs: { chunks, depth, boundary } });
    for (const b of ['reflect', 'periodic', 'nearest', 'none', 1] as ta.Boundary[]) {
      add(`overlap ${String(b)} (${dtype})`, dask({ 0: 2, 1: 3 }, { 0: b, 1: b }), () => ta.overlap(x.ours, { depth: [2, 3], boundary: b }));
    }
    add(`overlap per-axis boundaries (${dtype})`, dask({ 0: 1, 1: 2 }, { 0: 'periodic', 1: 'reflect' }), () =>
      ta.overlap(x.ours, { depth: { 0: 1, 1: 2 }, boundary: ['periodic', 'reflect'] }),
    );
    add(`overlap one axis (${dtype})`, dask({ 1: 2 }, { 0: 'none', 1: 'nearest' }), () => ta.overlap(x.ours, { depth: { 1: 2 }, boundary: { 1: 'nearest' } }));
    add(`overlap asymmetric (${dtype})`, dask({ 0: [1, 3], 1: [2, 0] }, { 0: 'none', 1: 'none' }), () => ta.overlap(x.ours, { depth: { 0: [1, 3], '-1': [2, 0] } }));
  }

  // mapOverlap: a stencil whose boundary rows come from the boundary, as scipy.ndimage's modes.
  for (const dtype of ['float64', 'float32'] as Dtype[]) {
    const rel = dtype === 'float32' ? 1e-5 : 1e-12;
    const x2 = input(dtype, [9, 14], [[2, 4, 3], [5, 1, 8]], 1, true);
    const x3 = input(dtype, [5, 6, 7], [[2, 3], [4, 2], [3, 3, 1]], 2, true);
    for (const b of ['reflect', 'periodic', 'nearest'] as const) {
      add(`mapOverlap laplace 2-d ${b} (${dtype})`, { fn: 'scipy.ndimage.laplace', args: [x2.theirs], kwargs: { mode: SCIPY_MODE[b] } }, () => ta.mapOverlap('laplace', x2.ours, { depth: 1, boundary: b }), { rel, abs: rel * 100 });
      add(`mapOverlap laplace 3-d ${b} (${dtype})`, { fn: 'scipy.ndimage.laplace', args: [x3.theirs], kwargs: { mode: SCIPY_MODE[b] } }, () => ta.mapOverlap('laplace', x3.ours, { depth: 1, boundary: b }), { rel, abs: rel * 100 });
      // A radius of 4 over blocks of 1 to 5 rows: halos from blocks beyond the next one.
      add(`mapOverlap box radius 4 ${b} (${dtype})`, { fn: 'scipy.ndimage.uniform_filter1d', args: [x2.theirs], kwargs: { size: 9, axis: 1, mode: SCIPY_MODE[b] } }, () =>
        ta.mapOverlap('box', x2.ours, { depth: { 1: 4 }, boundary: b, params: { axis: 1, radius: 4 } }), { rel: rel * 10, abs: rel * 100 },
      );
    }
    add(`mapOverlap laplace constant (${dtype})`, { fn: 'scipy.ndimage.laplace', args: [x2.theirs], kwargs: { mode: 'constant', cval: 2.5 } }, () => ta.mapOverlap('laplace', x2.ours, { depth: 1, boundary: 2.5 }), { rel, abs: rel * 100 });
  }
  const p = input('float64', [9, 14], [[2, 4, 3], [5, 1, 8]], 3, true);
  const q = input('float64', [9, 14], [[5, 4], [7, 7]], 4, true);
  add('mapOverlap of two arrays of other chunks', { fn: 'add', args: [p.theirs, q.theirs] }, () => ta.mapOverlap('add2', p.ours, q.ours, { depth: 1, boundary: 'periodic' }));
  add('mapOverlap without trim', { fn: 'dask.overlap', args: [p.theirs], kwargs: { chunks: [[2, 4, 3], [5, 1, 8]], depth: { 0: 1, 1: 1 }, boundary: { 0: 0, 1: 0 } } }, () =>
    ta.mapOverlap('add2', p.ours, ta.zeros([9, 14], { chunks: [[2, 4, 3], [5, 1, 8]] }), { depth: 1, boundary: 0, trim: false }),
    { abs: 1e-300 }, // -0 + 0 is 0
  );

  // diff
  for (const dtype of ['float64', 'float32', 'int64', 'int32', 'uint8', 'bool'] as Dtype[]) {
    const x = input(dtype, [7, 10], [[3, 4], [4, 1, 5]], 5);
    add(`diff (${dtype})`, { fn: 'diff', args: [x.theirs] }, () => ta.diff(x.ours));
    add(`diff n=3 axis 0 (${dtype})`, { fn: 'diff', args: [x.theirs], kwargs: { n: 3, axis: 0 } }, () => ta.diff(x.ours, { n: 3, axis: 0 }));
    add(`diff n=0 (${dtype})`, { fn: 'diff', args: [x.theirs], kwargs: { n: 0 } }, () => ta.diff(x.ours, { n: 0 }));
    if (dtype !== 'bool') {
      add(`diff prepend append (${dtype})`, { fn: 'diff', args: [x.theirs], kwargs: { n: 2, prepend: 0, append: 1.5 } }, () => ta.diff(x.ours, { n: 2, prepend: 0, append: 1.5 }));
    }
  }
  const e = input('int32', [7, 2], [[3, 4], [2]], 6);
  const xe = input('int32', [7, 10], [[3, 4], [4, 1, 5]], 5);
  add('diff append an array', { fn: 'diff', args: [xe.theirs], kwargs: { append: e.theirs } }, () => ta.diff(xe.ours, { append: e.ours }));

  // gradient
  for (const dtype of ['float64', 'float32', 'int32', 'uint8'] as Dtype[]) {
    const rel = dtype === 'float32' ? 1e-6 : 1e-14;
    const x = input(dtype, [8, 11], [[3, 1, 4], [2, 6, 3]], 7, true);
    add(`gradient (${dtype})`, { fn: 'gradient', args: [x.theirs] }, () => ta.gradient(x.ours), { rel, abs: rel });
    add(`gradient edgeOrder 2 (${dtype})`, { fn: 'gradient', args: [x.theirs], kwargs: { edge_order: 2 } }, () => ta.gradient(x.ours, { edgeOrder: 2 }), { rel, abs: rel });
    add(`gradient axis 1 step 0.5 (${dtype})`, { fn: 'gradient', args: [x.theirs, 0.5], kwargs: { axis: 1 } }, () => ta.gradient(x.ours, 0.5, { axis: 1 }), { rel, abs: rel });
    const cy = [0, 1, 1.5, 3, 4, 4.25, 6, 7];
    const cx = [0, 2, 3, 5, 6, 9, 10, 10.5, 12, 13, 15];
    for (const edgeOrder of [1, 2] as const) {
      add(`gradient uneven coordinates, edgeOrder ${edgeOrder} (${dtype})`, { fn: 'gradient', args: [x.theirs, wireArray('float64', cy, [8]), wireArray('float64', cx, [11])], kwargs: { edge_order: edgeOrder } }, () =>
        ta.gradient(x.ours, cy, cx, { edgeOrder }), { rel: rel * 100, abs: rel * 100 },
      );
    }
  }
  const v1 = input('float64', [13], [[5, 1, 7]], 8, true);
  add('gradient 1-d, evenly spaced coordinates', { fn: 'gradient', args: [v1.theirs, wireArray('float64', Array.from({ length: 13 }, (_, i) => 3 * i), [13])] }, () =>
    ta.gradient(v1.ours, Array.from({ length: 13 }, (_, i) => 3 * i)), { rel: 1e-14, abs: 1e-14 },
  );

  // correlate and convolve
  for (const dtype of ['float64', 'float32', 'int64', 'int32', 'uint8', 'bool'] as Dtype[]) {
    const a = input(dtype, [23], [[5, 2, 9, 7]], 9, true);
    const v = input(dtype, [4], [[4]], 10, true);
    const rel = dtype === 'float32' ? 1e-5 : 1e-13;
    for (const mode of ['valid', 'same', 'full'] as const) {
      add(`correlate ${mode} (${dtype})`, { fn: 'correlate', args: [a.theirs, v.theirs], kwargs: { mode } }, () => ta.correlate(a.ours, v.ours, mode), { rel, abs: rel });
      add(`convolve ${mode} (${dtype})`, { fn: 'convolve', args: [a.theirs, v.theirs], kwargs: { mode } }, () => ta.convolve(a.ours, v.ours, mode), { rel, abs: rel });
      add(`correlate ${mode}, the longer second (${dtype})`, { fn: 'correlate', args: [v.theirs, a.theirs], kwargs: { mode } }, () => ta.correlate(v.ours, a.ours, mode), { rel, abs: rel });
      add(`convolve ${mode}, the longer second (${dtype})`, { fn: 'convolve', args: [v.theirs, a.theirs], kwargs: { mode } }, () => ta.convolve(v.ours, a.ours, mode), { rel, abs: rel });
    }
  }
  const ai = input('int32', [17], [[6, 6, 5]], 11, true);
  const wf = [0.25, 0.5, 0.25];
  add('convolve int32 with float weights (float64)', { fn: 'convolve', args: [ai.theirs, wireArray('float64', wf, [3])], kwargs: { mode: 'same' } }, () => ta.convolve(ai.ours, wf, 'same'), { rel: 1e-14, abs: 1e-14 });
  const long = input('float64', [40], [[3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4]], 12, true);
  const wide = input('float64', [11], [[11]], 13, true);
  add('convolve with weights longer than the blocks', { fn: 'convolve', args: [long.theirs, wide.theirs] }, () => ta.convolve(long.ours, wide.ours), { rel: 1e-12, abs: 1e-12 });
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe.each(['local', 'cluster'] as const)('numpy neighbourhoods and differences on the %s engine', (engine) => {
  const e = engineClient(engine, { kernels: KERNELS });

  it(`${CASES.length} cases match numpy, scipy and dask`, { timeout: 240_000 }, async () => {
    const built = CASES.map((c) => c.build());
    const got = (await e.client.compute(built.flat())) as ta.NDArray[];
    let k = 0;
    CASES.forEach((c, i) => {
      const want = numpy.answers[i]!;
      if ('error' in want) expect.fail(`${c.label}: the oracle refused: ${want.error}`);
      const wants: WireArray[] = 'list' in want ? want.list : [want];
      const b = built[i]!;
      expect(Array.isArray(b) ? b.length : 1, `${c.label}: number of arrays`).toBe(wants.length);
      wants.forEach((w, j) =>
        expectMatch(wants.length > 1 ? `${c.label}[${j}]` : c.label, got[k + j]!, w, { ...(c.rel !== undefined && { rel: c.rel }), ...(c.abs !== undefined && { abs: c.abs }) }),
      );
      k += wants.length;
    });
  });
});

describe('neighbourhoods refuse what numpy and dask refuse', () => {
  const x = ta.ones([6, 4], { chunks: [2, 2] });
  it('names the bad argument', () => {
    expect(() => ta.overlap(x, { depth: -1 })).toThrow(/overlap: bad depth -1/);
    expect(() => ta.overlap(x, { depth: [1, 2, 3] })).toThrow(/3 depths for 2 axes/);
    expect(() => ta.overlap(x, { depth: 1, boundary: 'mirror' as ta.Boundary })).toThrow(/bad boundary "mirror"/);
    expect(() => ta.overlap(x, { depth: { 2: 1 } })).toThrow(/axis 2 is out of bounds/);
    expect(() => ta.mapOverlap('laplace', x, ta.ones([6, 5]), { depth: 1 })).toThrow(/must have one shape/);
    expect(() => ta.gradient(ta.ones([1, 4]))).toThrow(/axis 0 of \(1, 4\) is too short/);
    expect(() => ta.gradient(x, 1, 2, 3)).toThrow(/got 3/);
    expect(() => ta.gradient(x, [1, 2], [1, 2, 3, 4])).toThrow(/2 coordinates for axis 0 of length 6/);
    expect(() => ta.gradient(ta.ones([3], { dtype: 'bool' }))).toThrow(/bool arrays have no differences/);
    expect(() => ta.diff(x, { n: -1 })).toThrow(/order must be a non-negative integer/);
    expect(() => ta.correlate(x, [1])).toThrow(/takes 1-d arrays, got \(6, 4\)/);
    expect(() => ta.convolve(ta.ones([3]), [])).toThrow(/an input is empty/);
    expect(() => ta.convolve(ta.ones([3]), [1], 'middle' as ta.CorrelateMode)).toThrow(/mode must be valid, same or full/);
  });
});
