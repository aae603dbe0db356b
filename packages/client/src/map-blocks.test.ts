import { ChunkError, type Chunk, InvalidArgumentError } from '@tessera/protocol';
import { describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { graphOf, values } from '../test-util/graphs.js';

const kernels = {
  'scale-add': (ins: Chunk[], p: Record<string, unknown>): Chunk => ({
    dtype: 'float64',
    shape: [...ins[0]!.shape],
    data: Float64Array.from(ins[0]!.data, (v, i) => v * (p['k'] as number) + (ins[1] ? ins[1].data[i % ins[1].data.length]! : 0)),
  }),
  'block-id': (_ins: Chunk[], _p: Record<string, unknown>, idx: number[]): Chunk => ({ dtype: 'int32', shape: [1], data: Int32Array.of(idx[0]!) }),
};

describe('mapBlocks', () => {
  it('one map-blocks task per block, name and JSON params only', () => {
    const x = ta.arange(10, { chunks: 4, dtype: 'float64' });
    const y = ta.mapBlocks('scale-add', x, { params: { k: 3 } });
    expect(y.shape).toEqual([10]);
    expect(y.dtype).toBe('float64');
    expect(y.name.startsWith('scale_add-')).toBe(true);
    const g = graphOf(y);
    expect(g.tasks.find((t) => t.key === y.key([1]))!.params).toEqual({ kernel: 'scale-add', params: { k: 3 }, blockIndex: [1] });
    expect(values(y, kernels)).toEqual(Array.from({ length: 10 }, (_, i) => 3 * i));
    expect(x.mapBlocks('scale-add', { params: { k: 3 } }).name).toBe(y.name);
    expect(ta.mapBlocks('scale-add', x, { params: { k: 4 } }).name).not.toBe(y.name);
  });

  it('several inputs are unified like an elementwise op', () => {
    const a = ta.arange(6, { chunks: 3, dtype: 'float64' });
    const b = ta.ones([6], { chunks: 2 });
    const y = ta.mapBlocks('scale-add', a, b, { params: { k: 1 } });
    expect(y.chunks).toEqual([[2, 1, 1, 2]]);
    expect(values(y, kernels)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('explicit output chunks and dtype', () => {
    const a = ta.arange(6, { chunks: 2, dtype: 'float64' });
    const y = ta.mapBlocks('block-id', a, { dtype: 'int32', chunks: [[1, 1, 1]] });
    expect(y.shape).toEqual([3]);
    expect(values(y, kernels)).toEqual([0, 1, 2]);
    expect(() => ta.mapBlocks('block-id', a, { chunks: [[1, 1]] })).toThrow(ChunkError);
    expect(() => ta.mapBlocks('block-id', a, { chunks: [[1, 1]] })).toThrow(/mapBlocks\(block-id\): chunks \(\(1, 1\),\) do not match the inputs' block grid \(3,\)/);
    expect(() => ta.mapBlocks('', a)).toThrow(InvalidArgumentError);
    expect(() => ta.mapBlocks('k')).toThrow(/without inputs, give chunks/);
    expect(ta.mapBlocks('gen', { chunks: [[2, 2]], dtype: 'uint8' }).shape).toEqual([4]);
  });
});
