import { ChunkError, InvalidArgumentError } from '@tessera/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ta from './index.js';
import { computeList, connectLocal } from '../test-util/engine.js';
import { graphOf } from '../test-util/graphs.js';

// The kernels (scale-add, block-id) are in test-util/kernels.mjs, loaded by the engine's threads.
let client: ta.Client;
beforeAll(async () => {
  client = await connectLocal();
});
afterAll(async () => {
  await client?.close();
});
const values = (a: ta.ChunkedArray) => computeList(client, a);

describe('mapBlocks', () => {
  it('one map-blocks task per block, name and JSON params only', async () => {
    const x = ta.arange(10, { chunks: 4, dtype: 'float64' });
    const y = ta.mapBlocks('scale-add', x, { params: { k: 3 } });
    expect(y.shape).toEqual([10]);
    expect(y.dtype).toBe('float64');
    expect(y.name.startsWith('scale_add-')).toBe(true);
    const g = graphOf(y);
    expect(g.tasks.find((t) => t.key === y.key([1]))!.params).toEqual({ kernel: 'scale-add', params: { k: 3 }, blockIndex: [1] });
    expect(await values(y)).toEqual(Array.from({ length: 10 }, (_, i) => 3 * i));
    expect(x.mapBlocks('scale-add', { params: { k: 3 } }).name).toBe(y.name);
    expect(ta.mapBlocks('scale-add', x, { params: { k: 4 } }).name).not.toBe(y.name);
  });

  it('several inputs are unified like an elementwise op', async () => {
    const a = ta.arange(6, { chunks: 3, dtype: 'float64' });
    const b = ta.ones([6], { chunks: 2 });
    const y = ta.mapBlocks('scale-add', a, b, { params: { k: 1 } });
    expect(y.chunks).toEqual([[2, 1, 1, 2]]);
    expect(await values(y)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('explicit output chunks and dtype', async () => {
    const a = ta.arange(6, { chunks: 2, dtype: 'float64' });
    const y = ta.mapBlocks('block-id', a, { dtype: 'int32', chunks: [[1, 1, 1]] });
    expect(y.shape).toEqual([3]);
    const r = await client.compute(y);
    expect(r.dtype).toBe('int32');
    expect([...r.data]).toEqual([0, 1, 2]);
    expect(() => ta.mapBlocks('block-id', a, { chunks: [[1, 1]] })).toThrow(ChunkError);
    expect(() => ta.mapBlocks('block-id', a, { chunks: [[1, 1]] })).toThrow(/mapBlocks\(block-id\): chunks \(\(1, 1\),\) do not match the inputs' block grid \(3,\)/);
    expect(() => ta.mapBlocks('', a)).toThrow(InvalidArgumentError);
    expect(() => ta.mapBlocks('k')).toThrow(/without inputs, give chunks/);
    expect(ta.mapBlocks('gen', { chunks: [[2, 2]], dtype: 'uint8' }).shape).toEqual([4]);
  });
});
