// User-defined parallel building blocks against numpy: blockwise in index notation (a matrix
// product with and without concatenate, an outer product, a transpose, new and adjusted axes),
// reduction with registered chunk / combine / aggregate kernels (trees of several levels, some
// axes or all, keepdims), applyAlongAxis (lanes to numbers, to lanes, to pairs) and applyOverAxes, on odd shapes and chunkings, on the local engine and
// a cluster.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import { engineClient } from './cluster.test-util.js';
import { expectMatch, numpyAnswers, wireArray, type NumpyCall, type WireArray } from './numpy-oracle.test-util.js';

const KERNELS = [new URL('./fixtures/custom-kernels.mjs', import.meta.url).pathname];

interface Case {
  label: string;
  np: NumpyCall;
  build: () => ta.ChunkedArray;
}

let seed = 11;
const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2;
function input(shape: number[], chunks: number[][]) {
  const data = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rnd);
  return { ours: ta.fromArray(Float64Array.from(data), { shape, chunks }), theirs: wireArray('float64', data, shape) };
}

function cases(): Case[] {
  const out: Case[] = [];
  const add = (label: string, np: NumpyCall, build: () => ta.ChunkedArray) => out.push({ label, np, build });
  const a = input([9, 11], [[4, 5], [3, 3, 5]]);
  const b = input([11, 7], [[6, 5], [2, 5]]);
  const einsum = (spec: string, ...xs: WireArray[]): NumpyCall => ({ fn: 'einsum', args: [spec, ...xs] });
  add('blockwise ik of ij, jk, concatenate', einsum('ij,jk->ik', a.theirs, b.theirs), () => ta.blockwise('matmul-block', 'ik', a.ours, 'ij', b.ours, 'jk', { concatenate: true }));
  add('blockwise ik of ij, jk, every block along j', einsum('ij,jk->ik', a.theirs, b.theirs), () => ta.blockwise('matmul-blocks', 'ik', a.ours, 'ij', b.ours, 'jk'));
  const u = input([9], [[2, 7]]);
  const v = input([11], [[11]]);
  add('blockwise ij of i, j', einsum('i,j->ij', u.theirs, v.theirs), () => ta.blockwise('outer', 'ij', u.ours, 'i', v.ours, 'j'));
  add('blockwise ji of ij', einsum('ij->ji', a.theirs), () => ta.blockwise('transpose2', 'ji', a.ours, 'ij'));
  const x = input([7, 10, 6], [[3, 4], [1, 4, 5], [6]]);
  for (const [axis, keepdims] of [[[0, 2], true], [[1], false], [undefined, false], [[-1], true]] as const) {
    const kw = { ...(axis !== undefined && { axis }), keepdims };
    // numpy's norm of all axes is axis None (it takes at most two).
    add(`reduction norm axis ${JSON.stringify(axis)} keepdims ${keepdims}`, { fn: 'linalg.norm', args: [x.theirs], kwargs: { axis: axis ?? null, keepdims } }, () =>
      ta.reduction(x.ours, { chunk: 'sumsq', combine: 'sum-keep', aggregate: 'sqrt-sum', splitEvery: 2, ...kw }),
    );
  }
  // 40 blocks along axis 0, 2 at a time: a tree of five levels.
  const long = input([40, 3], [Array.from({ length: 40 }, () => 1), [2, 1]]);
  // max |x| along axis 0 is the inf-norm of the columns.
  const inf = { dtype: 'float64', shape: [], data: ['inf'] };
  add('reduction of 40 blocks, splitEvery 2', { fn: 'linalg.norm', args: [long.theirs], kwargs: { ord: inf, axis: 0 } }, () => ta.reduction(long.ours, { chunk: 'absmax', aggregate: 'absmax', axis: 0, splitEvery: 2 }));
  for (const axis of [0, 1, -1]) {
    const n = x.ours.shape.at(axis)!;
    add(`applyAlongAxis lane sum, axis ${axis}`, { fn: 'sum', args: [x.theirs], kwargs: { axis } }, () => ta.applyAlongAxis('lane-sum', axis, x.ours, { shape: [] }));
    add(`applyAlongAxis lane cumsum, axis ${axis}`, { fn: 'cumsum', args: [x.theirs], kwargs: { axis } }, () => ta.applyAlongAxis('lane-cumsum', axis, x.ours));
    add(`applyAlongAxis lane ends, axis ${axis}`, { fn: 'take', args: [x.theirs, [0, n - 1]], kwargs: { axis } }, () => ta.applyAlongAxis('lane-ends', axis, x.ours, { shape: [2] }));
  }
  add('applyOverAxes of sum over 0 and 2', { fn: 'sum', args: [x.theirs], kwargs: { axis: [0, 2], keepdims: true } }, () => ta.applyOverAxes((y, axis) => y.sum({ axis }), x.ours, [0, 2]));
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe.each(['local', 'cluster'] as const)('user-defined blocks on the %s engine', (engine) => {
  const e = engineClient(engine, { kernels: KERNELS });

  it(`${CASES.length} cases match numpy`, { timeout: 240_000 }, async () => {
    const got = (await e.client.compute(CASES.map((c) => c.build()))) as ta.NDArray[];
    CASES.forEach((c, i) => {
      const want = numpy.answers[i]!;
      if ('error' in want || 'list' in want) expect.fail(`${c.label}: numpy gave ${JSON.stringify(want).slice(0, 200)}`);
      expectMatch(c.label, got[i]!, want, { rel: 1e-12, abs: 1e-12 });
    });
  });

  it('a lane kernel whose result has another shape than declared fails its task, naming both', async () => {
    const x = ta.ones([5, 3], { chunks: [2, 3] });
    await expect(e.client.compute(ta.applyAlongAxis('lane-sum', 0, x))).rejects.toThrow(/returned float64\[1\] for a lane of .*; expected float64 data of shape \[5\]/);
  });
});

describe('user-defined blocks refuse what dask refuses', () => {
  const a = ta.ones([4, 6], { chunks: [2, 3] });
  it('names the bad argument', () => {
    expect(() => ta.blockwise('k', 'ij', a, 'i')).toThrow(/index 'i' has 1 letters for an array of shape \(4, 6\)/);
    expect(() => ta.blockwise('k', 'ii', a, 'ij')).toThrow(/distinct letters/);
    expect(() => ta.blockwise('k', 'ik', a, 'ij')).toThrow(/output index 'k' is in no input; give its size in newAxes/);
    expect(() => ta.blockwise('k', 'ij', a, 'ij', ta.ones([4, 5]), 'ij')).toThrow(/index 'j' is 6 long in one input and 5 in another/);
    expect(() => ta.blockwise('k', 'ij', a)).toThrow(/in pairs/);
    expect(() => ta.reduction(a, { chunk: 'c' } as ta.ReductionOptions)).toThrow(/give \{ chunk, aggregate \}/);
    expect(() => ta.reduction(a, { chunk: 'c', aggregate: 'a', splitEvery: 1 })).toThrow(/splitEvery must be an integer >= 2/);
    expect(() => ta.applyOverAxes((y) => y.sum(), a, [0])).toThrow(/must keep the rank or drop the one axis/);
    expect(() => ta.applyAlongAxis('k', 2, a)).toThrow(/axis 2 is out of bounds/);
    expect(() => ta.applyAlongAxis('k', 0, a, { shape: [-1] })).toThrow(/shape must list non-negative integers/);
  });
});
