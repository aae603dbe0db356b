// numpy is the oracle for shape manipulation and creation: squeeze, expandDims, moveaxis, flip,
// roll, tile, repeat, pad-free stacking and splitting, reshape of any chunking, linspace, eye,
// tri, tril/triu, meshgrid and indices, on odd shapes and chunkings, on the local engine and a
// cluster. Values move without arithmetic, so everything is exact (linspace to 1 ulp).
import { describe, expect, it } from 'vitest';
import * as ta from '@tessera/client';
import type { Dtype } from '@tessera/protocol';
import { engineClient } from './cluster.test-util.js';
import { expectCasesMatch, numpyAnswers, type OracleCase, values, wireArray, type NumpyCall, typedFrom } from './numpy-oracle.test-util.js';

type Case = OracleCase;

/** The same data on both sides: ours chunked `chunks`, numpy's as a plain array. */
function input(dtype: Dtype, shape: number[], chunks: number[], salt = 0) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, (_, i) => values(dtype, salt)[i % 35]! + (dtype === 'uint8' || dtype === 'bool' ? 0 : Math.floor(i / 35)));
  return { ours: ta.fromArray(typedFrom(dtype, data), { shape, chunks, dtype }), theirs: wireArray(dtype, data, shape) };
}

function cases(): Case[] {
  const out: Case[] = [];
  const add = (label: string, np: NumpyCall, build: Case['build']) => out.push({ label, np, build });
  for (const dtype of ['float64', 'int64', 'int32', 'uint8', 'bool'] as const) {
    const a = input(dtype, [1, 7, 1, 5], [1, 3, 1, 2]);
    add(`squeeze(${dtype})`, { fn: 'squeeze', args: [a.theirs] }, () => ta.squeeze(a.ours));
    add(`squeeze(${dtype}, axis 2)`, { fn: 'squeeze', args: [a.theirs], kwargs: { axis: 2 } }, () => ta.squeeze(a.ours, 2));
    const b = input(dtype, [7, 5, 3], [3, 2, 2], 1);
    add(`expandDims(${dtype}, [0, -1])`, { fn: 'expand_dims', args: [b.theirs], kwargs: { axis: [0, -1] } }, () => ta.expandDims(b.ours, [0, -1]));
    add(`swapaxes(${dtype}, 0, 2)`, { fn: 'swapaxes', args: [b.theirs, 0, 2] }, () => ta.swapaxes(b.ours, 0, 2));
    add(`moveaxis(${dtype}, 0, -1)`, { fn: 'moveaxis', args: [b.theirs, 0, -1] }, () => ta.moveaxis(b.ours, 0, -1));
    add(`moveaxis(${dtype}, [0, 1], [2, 0])`, { fn: 'moveaxis', args: [b.theirs, [0, 1], [2, 0]] }, () => ta.moveaxis(b.ours, [0, 1], [2, 0]));
    add(`flip(${dtype})`, { fn: 'flip', args: [b.theirs] }, () => ta.flip(b.ours));
    add(`flip(${dtype}, axis 1)`, { fn: 'flip', args: [b.theirs], kwargs: { axis: 1 } }, () => ta.flip(b.ours, 1));
    add(`fliplr(${dtype})`, { fn: 'fliplr', args: [b.theirs] }, () => ta.fliplr(b.ours));
    add(`flipud(${dtype})`, { fn: 'flipud', args: [b.theirs] }, () => ta.flipud(b.ours));
    add(`roll(${dtype}, 4)`, { fn: 'roll', args: [b.theirs, 4] }, () => ta.roll(b.ours, 4));
    add(`roll(${dtype}, [-2, 9], [0, 1])`, { fn: 'roll', args: [b.theirs, [-2, 9], [0, 1]] }, () => ta.roll(b.ours, [-2, 9], [0, 1]));
    add(`ravel(${dtype})`, { fn: 'ravel', args: [b.theirs] }, () => ta.ravel(b.ours));
    add(`reshape(${dtype}, (15, 7))`, { fn: 'reshape', args: [b.theirs, [15, 7]] }, () => b.ours.reshape([15, 7]));
    add(`reshape(${dtype}, (3, -1, 5))`, { fn: 'reshape', args: [b.theirs, [3, -1, 5]] }, () => b.ours.reshape([3, -1, 5]));
    add(`tile(${dtype}, (2, 1, 3))`, { fn: 'tile', args: [b.theirs, [2, 1, 3]] }, () => ta.tile(b.ours, [2, 1, 3]));
    add(`repeat(${dtype}, 3, axis 1)`, { fn: 'repeat', args: [b.theirs, 3], kwargs: { axis: 1 } }, () => ta.repeat(b.ours, 3, { axis: 1 }));
    add(`repeat(${dtype}, 2)`, { fn: 'repeat', args: [b.theirs, 2] }, () => ta.repeat(b.ours, 2));
    add(`broadcastTo(${dtype})`, { fn: 'broadcast_to', args: [a.theirs, [2, 7, 4, 5]] }, () => ta.broadcastTo(a.ours, [2, 7, 4, 5]));
    add(`arraySplit(${dtype}, 3, axis 0)`, { fn: 'array_split', args: [b.theirs, 3], kwargs: { axis: 0 } }, () => ta.arraySplit(b.ours, 3, { axis: 0 }));
    add(`split(${dtype}, [1, 4], axis 1)`, { fn: 'split', args: [b.theirs, [1, 4]], kwargs: { axis: 1 } }, () => ta.split(b.ours, [1, 4], { axis: 1 }));
    for (const [idx, axis] of [
      [[6, 0, 0, 3, 2, 1, -1, 4, 5], 0],
      [[4, 3, 2, 1, 0, 0, 2, 4], 1],
      [[2, 1, 0, 0, 2, -3], 2],
      [[], 0],
    ] as const) {
      add(`take(${dtype}, [${idx.join(',')}], axis ${axis})`, { fn: 'take', args: [b.theirs, [...idx]], kwargs: { axis } }, () => ta.take(b.ours, idx, { axis }));
    }
    add(`take(${dtype}, flat)`, { fn: 'take', args: [b.theirs, [104, 0, 57, 3]] }, () => ta.take(b.ours, [104, 0, 57, 3]));
    for (const mode of ['constant', 'edge', 'reflect', 'symmetric', 'wrap'] as const) {
      // Wider than the axis for the others; Debian's numpy 1.24 wraps wrongly past one period (fixed in
      // numpy 1.25: periodic, as here; checked below), so wrap's widths stay within it.
      const width: [number, number][] = mode === 'wrap' ? [[2, 4], [0, 3], [1, 1]] : [[2, 9], [0, 3], [4, 1]];
      add(`pad(${dtype}, ${mode})`, { fn: 'pad', args: [b.theirs, width], kwargs: { mode } }, () => ta.pad(b.ours, width, { mode }));
    }
    add(`pad(${dtype}, 2, constant 7)`, { fn: 'pad', args: [b.theirs, 2], kwargs: { mode: 'constant', constant_values: 7 } }, () => ta.pad(b.ours, 2, { constantValues: 7 }));
    for (const index of [
      [ta.ellipsis, 1],
      [2, ta.ellipsis],
      [ta.newaxis, { start: 5, stop: 0, step: -2 }, ta.ellipsis, ta.newaxis],
      [{ step: -1 }, ta.newaxis, 3, { start: 1 }],
      [ta.ellipsis, ta.newaxis],
    ] as ta.SliceSpec[][]) {
      add(`x[${index.map((i) => JSON.stringify(i)).join(', ')}] (${dtype})`, { fn: 'getitem', args: [b.theirs, index] }, () => b.ours.slice(...index));
    }
    for (const index of [
      [[6, 0, 0, 3], null],
      [null, [4, 3, 3], { start: 1 }],
      [2, [0, 2, 1]],
      [{ start: 1 }, [4, 0], 1],
      [0, null, [2, 1]],
      [[1, 2], { step: -2 }, 0],
    ] as (ta.SliceSpec | number[])[][]) {
      add(`x.get(${JSON.stringify(index)}) (${dtype})`, { fn: 'getitem', args: [b.theirs, index] }, () => b.ours.get(index));
    }
    const cond = [true, false, true, true, false, false, true];
    add(`compress(${dtype}, axis 0)`, { fn: 'compress', args: [cond, b.theirs], kwargs: { axis: 0 } }, () => ta.compress(cond, b.ours, { axis: 0 }));
    const v = input(dtype, [5], [2], 2);
    const m = input(dtype, [3, 5], [2, 3], 3);
    add(`vstack(${dtype})`, { fn: 'vstack', args: [[v.theirs, m.theirs]] }, () => ta.vstack([v.ours, m.ours]));
    add(`hstack(${dtype})`, { fn: 'hstack', args: [[v.theirs, v.theirs]] }, () => ta.hstack([v.ours, v.ours]));
    add(`dstack(${dtype})`, { fn: 'dstack', args: [[m.theirs, m.theirs]] }, () => ta.dstack([m.ours, m.ours]));
    const m2 = input(dtype, [3, 2], [2, 1], 7);
    add(`block(${dtype})`, { fn: 'block', args: [[[m.theirs, m2.theirs], [m2.theirs, m.theirs]]] }, () => ta.block([[m.ours, m2.ours], [m2.ours, m.ours]]));
    add(`atleast3d(${dtype})`, { fn: 'atleast_3d', args: [v.theirs] }, () => ta.atleast3d(v.ours));
    const sq = input(dtype, [6, 7], [4, 3], 4);
    add(`tril(${dtype}, -1)`, { fn: 'tril', args: [sq.theirs, -1] }, () => ta.tril(sq.ours, -1));
    add(`triu(${dtype}, 2)`, { fn: 'triu', args: [sq.theirs, 2] }, () => ta.triu(sq.ours, 2));
    const x1 = input(dtype, [4], [3], 5);
    const x2 = input(dtype, [3], [2], 6);
    add(`meshgrid(${dtype})`, { fn: 'meshgrid', args: [[x1.theirs, x2.theirs]] }, () => ta.meshgrid([x1.ours, x2.ours]));
    add(`meshgrid(${dtype}, ij)`, { fn: 'meshgrid', args: [[x1.theirs, x2.theirs]], kwargs: { indexing: 'ij' } }, () => ta.meshgrid([x1.ours, x2.ours], { indexing: 'ij' }));
  }
  add('linspace(-1.5, 2, 11)', { fn: 'linspace', args: [-1.5, 2, 11] }, () => ta.linspace(-1.5, 2, 11, { chunks: 4 }));
  add('linspace(0, 1, 7, endpoint false)', { fn: 'linspace', args: [0, 1, 7], kwargs: { endpoint: false } }, () => ta.linspace(0, 1, 7, { endpoint: false, chunks: 3 }));
  add('linspace(3, 3, 1)', { fn: 'linspace', args: [3, 3, 1] }, () => ta.linspace(3, 3, 1));
  add('eye(5, 7, k 2)', { fn: 'eye', args: [5, 7], kwargs: { k: 2 } }, () => ta.eye(5, 7, { k: 2, chunks: 3 }));
  add('identity(4)', { fn: 'identity', args: [4] }, () => ta.identity(4, { chunks: 3 }));
  add('tri(4, 6, k -1)', { fn: 'tri', args: [4, 6], kwargs: { k: -1 } }, () => ta.tri(4, 6, { k: -1, chunks: [3, 4] }));
  add('indices((2, 3, 4))', { fn: 'indices', args: [[2, 3, 4]] }, () => ta.indices([2, 3, 4], { chunks: 2 }));
  return out;
}

const CASES = cases();
const numpy = numpyAnswers(CASES.map((c) => c.np));

describe('shape functions refuse what numpy refuses, naming the shapes', () => {
  it('squeeze of a non-1 axis, a split that does not divide, broadcasts that do not fit', () => {
    const x = ta.zeros([7, 5], { chunks: [3, 2] });
    expect(() => ta.squeeze(x, 1)).toThrow(/squeeze: cannot select axis 1 of shape \(7, 5\): its size is 5, not 1/);
    expect(() => ta.split(x, 2)).toThrow(/does not result in an equal division/);
    expect(() => ta.broadcastTo(x, [7, 4])).toThrow(/cannot broadcast shape \(7, 5\) to \(7, 4\)/);
    expect(() => ta.moveaxis(x, 0, 2)).toThrow(/axis 2 is out of bounds for an array of dimension 2/);
    expect(() => ta.meshgrid([x])).toThrow(/coordinate vectors must be 1-D/);
    expect(() => ta.take(x, [0, 7])).not.toThrow();
    expect(() => ta.take(x, [0, 7], { axis: 0 })).toThrow(/take: index 7 \(position 1\) is out of bounds for axis 0 with size 7/);
    expect(() => ta.take(x, [1.5], { axis: 1 })).toThrow(/out of bounds/);
    expect(() => ta.pad(x, 1, { mode: 'mean' as never })).toThrow(/pad: mode must be/);
    expect(() => x.slice(ta.ellipsis, 0, ta.ellipsis)).toThrow(/only have a single ellipsis/);
    expect(() => x.slice(0, 0, 0)).toThrow(/3 indices for the 2-d array of shape \(7, 5\)/);
    expect(() => x.get([[0], [1]])).toThrow(/at most one integer list/);
    expect(() => ta.pad(x, [[1, 1]])).toThrow(/1 \(before, after\) pairs for 2 axes/);
  });

  it('pad wrap past one period is periodic (numpy >= 1.25)', async () => {
    const c = await ta.Client.connect({ threads: 1 });
    try {
      const got = await c.compute(ta.pad(ta.arange(7, { chunks: 3 }), [2, 9], { mode: 'wrap' }));
      expect(Array.from(got.data, Number)).toEqual([5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1]);
    } finally {
      await c.close();
    }
  });
});

describe.each(['local', 'cluster'] as const)('numpy shapes and creation on the %s engine', (engine) => {
  const e = engineClient(engine);

  it(`${CASES.length} cases match numpy`, { timeout: 240_000 }, async () => {
    await expectCasesMatch(e.client, CASES, numpy.answers);
  });
});
