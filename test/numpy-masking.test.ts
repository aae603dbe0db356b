// numpy is the oracle for boolean masks and the index functions built on them: x.mask(cond)
// (numpy's x[cond], here as numpy.extract and compress), compress along an axis, extract,
// nonzero, flatnonzero, argwhere and where(cond), on odd shapes in odd chunks, for every dtype,
// on the local engine and a cluster. Their sizes are unknown (NaN) until computed, as in Dask:
// the engine counts each block first. Values move without arithmetic: everything is exact.
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { DTYPES, expectCasesMatch, numpyAnswers, type OracleCase, values, wireArray, type NumpyCall, typedFrom } from './numpy-oracle.test-util.js';

type Case = OracleCase;

function input(dtype: Dtype, shape: number[], chunks: number[], salt = 0) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, (_, i) => values(dtype, salt)[i % 35]!);
  return { ours: ta.fromArray(typedFrom(dtype, data), { shape, chunks, dtype }), theirs: wireArray(dtype, data, shape), data };
}

/** A bool condition: about half true, a whole block false, and its chunking unlike the data's. */
function condition(shape: number[], chunks: number[], salt: number) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, (_, i) => (i >= 3 && i < 7 ? 0 : Math.sin(i * 7.1 + salt) > 0 ? 1 : 0));
  return { ours: ta.fromArray(new Uint8Array(data), { shape, chunks, dtype: 'bool' }), theirs: wireArray('bool', data, shape) };
}

function cases(): Case[] {
  const out: Case[] = [];
  const add = (label: string, np: NumpyCall, build: Case['build']) => out.push({ label, np, build });
  for (const dtype of DTYPES) {
    const x = input(dtype, [7, 5], [3, 2]);
    const c = condition([7, 5], [2, 4], 1);
    add(`mask(${dtype} 2-D, same shape)`, { fn: 'extract', args: [c.theirs, x.theirs] }, () => x.ours.mask(c.ours));
    const rows = condition([7], [4], 2);
    add(`mask(${dtype} 2-D, rows)`, { fn: 'compress', args: [rows.theirs, x.theirs], kwargs: { axis: 0 } }, () => x.ours.mask(rows.ours));
    const cols = condition([5], [3], 3);
    add(`compress(${dtype}, axis 1)`, { fn: 'compress', args: [cols.theirs, x.theirs], kwargs: { axis: 1 } }, () => ta.compress(cols.ours, x.ours, { axis: 1 }));
    const short = condition([4], [3], 4);
    add(`compress(${dtype}, shorter condition, axis 0)`, { fn: 'compress', args: [short.theirs, x.theirs], kwargs: { axis: 0 } }, () => ta.compress(short.ours, x.ours, { axis: 0 }));
    const flat = condition([35], [9], 5);
    add(`compress(${dtype}, flattened)`, { fn: 'compress', args: [flat.theirs, x.theirs] }, () => ta.compress(flat.ours, x.ours));
    add(`extract(${dtype})`, { fn: 'extract', args: [c.theirs, x.theirs] }, () => ta.extract(c.ours, x.ours));
    const t = input(dtype, [3, 4, 5], [2, 3, 2], 1);
    const t2 = condition([3, 4], [2, 2], 6);
    add(`mask(${dtype} 3-D, leading 2 axes)`, { fn: 'getitem_mask', args: [t.theirs, t2.theirs] }, () => t.ours.mask(t2.ours));
    add(`nonzero(${dtype} 3-D)`, { fn: 'nonzero', args: [t.theirs] }, () => ta.nonzero(t.ours));
    add(`where(${dtype} 3-D)`, { fn: 'nonzero', args: [t.theirs] }, () => ta.where(t.ours));
    add(`flatnonzero(${dtype})`, { fn: 'flatnonzero', args: [x.theirs] }, () => ta.flatnonzero(x.ours));
    add(`argwhere(${dtype} 3-D)`, { fn: 'argwhere', args: [t.theirs] }, () => ta.argwhere(t.ours));
  }
  // A mask of a masked array: the inner sizes are counted first, then the outer ones.
  const v = input('float64', [23], [5], 7);
  const inner = condition([23], [6], 8);
  add('mask of a masked array', { fn: 'extract', args: [inner.theirs, v.theirs] }, () => v.ours.mask(inner.ours));
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe('boolean masks refuse what numpy refuses, and what needs sizes not known yet', () => {
  it('a mask of the wrong shape, a condition longer than the axis, ops that need chunk sizes', () => {
    const x = ta.zeros([7, 5], { chunks: [3, 2] });
    expect(() => x.mask(ta.zeros([5, 7], { dtype: 'bool' }))).toThrow(/mask: a boolean index of shape \(5, 7\) does not match the leading axes of shape \(7, 5\)/);
    expect(() => ta.compress(ta.ones([8], { dtype: 'bool' }), x, { axis: 0 })).toThrow(/condition of length 8 is longer than axis 0 of shape \(7, 5\)/);
    expect(() => ta.compress(ta.ones([2, 2], { dtype: 'bool' }), x)).toThrow(/the condition must be 1-D/);
    expect(() => ta.extract(ta.ones([3], { dtype: 'bool' }), x)).toThrow(/extract: the condition has 3 elements/);
    const m = x.mask(x.gt(0));
    expect(m.shape[0]).toBeNaN();
    expect(m.chunks[0]!.every(Number.isNaN)).toBe(true);
    for (const f of [() => m.cumsum(), () => ta.reshape(m, [2, -1]), () => m.slice({ start: 1 }), () => ta.rechunk(m, 2), () => ta.dot(m, m), () => ta.median(m)]) {
      expect(f).toThrow(ta.ChunkError);
      expect(f).toThrow(/unknown chunk sizes.*computeChunkSizes/);
    }
    // A known array cannot line up with an unknown axis; a number, a 0-d array and a length-1 axis can.
    expect(() => m.add(ta.zeros([3]))).toThrow(/unknown chunk sizes/);
    expect(() => m.add(ta.zeros([1])).mul(2).add(ta.full([], 1))).not.toThrow();
    expect(() => m.astype('bool').neg()).toThrow(ta.DtypeError); // still checked when built
  });
});

describe.each(['local', 'cluster'] as const)('numpy masks on the %s engine', (engine) => {
  const e = engineClient(engine);

  it(`${CASES.length} cases match numpy`, { timeout: 240_000 }, async () => {
    await expectCasesMatch(e.client, CASES, numpy.answers);
  });

  it('reductions and elementwise functions of a masked array; computeChunkSizes gives known chunks', async () => {
    const x = ta.arange(-20, 21, { chunks: 6 }).astype('float64');
    const pos = x.mask(x.gt(3));
    const want = Array.from({ length: 17 }, (_, i) => i + 4);
    expect(await e.client.compute(pos.sum())).toBe(want.reduce((a, b) => a + b, 0));
    expect(await e.client.compute(pos.mean())).toBe(12);
    expect(await e.client.compute(pos.max())).toBe(20);
    expect(await e.client.compute(ta.countNonzero(pos.gt(10)))).toBe(10);
    const scaled = (await e.client.compute(pos.mul(2).add(ta.full([1], 1)))) as ta.NDArray;
    expect([...scaled.data]).toEqual(want.map((v) => 2 * v + 1));
    const known = await e.client.computeChunkSizes(pos);
    expect(known.shape).toEqual([17]);
    expect(known.chunks[0]!.reduce((a, b) => a + b, 0)).toBe(17);
    expect(known.chunks[0]!.length).toBe(pos.chunks[0]!.length);
    const run = (await e.client.compute(known.cumsum())) as ta.NDArray;
    expect(run.data[16]).toBe(204);
    // The same computation twice gives the same task keys (deterministic names).
    expect((await e.client.computeChunkSizes(pos)).name).toBe(known.name);
    // An all-false mask: zero elements, a sum of 0, no max (numpy raises too, at compute here).
    const none = x.mask(x.gt(100));
    expect(((await e.client.compute(none)) as ta.NDArray).shape).toEqual([0]);
    expect(await e.client.compute(none.sum())).toBe(0);
    await expect(e.client.compute(none.max())).rejects.toThrow(/empty/);
  });
});
