import { describe, expect, it } from 'vitest';
import { join } from './bytes.test-util.js';
import type { Chunk } from './chunk.js';
import { decodeBatch, encodeBatch, PeerBatchRequest } from './peer-batch.js';
import { checkRegion, parseRegion } from './peer-fetch.js';

describe('peer batches', () => {
  const a: Chunk = { dtype: 'float64', shape: [3], data: new Float64Array([1, 2, 3]) };
  const b: Chunk = { dtype: 'int16', shape: [1, 3], data: new Int16Array([7, -8, 9]) };

  it('round-trip chunks of any dtype, each stream 8-byte aligned', () => {
    const body = join(encodeBatch([a, b, a]));
    const [x, y, z] = decodeBatch(body, [{ dtype: 'float64', shape: [3] }, { dtype: 'int16', shape: [1, 3] }, { dtype: 'float64', shape: [3] }]);
    expect([...x!.data]).toEqual([1, 2, 3]);
    expect([...y!.data]).toEqual([7, -8, 9]);
    expect(z!.data.byteOffset % 8).toBe(0);
  });

  it('refuse answers that are short, long, or of another shape', () => {
    const body = join(encodeBatch([a, b]));
    const want = [{ dtype: 'float64' as const, shape: [3] }, { dtype: 'int16' as const, shape: [1, 3] }];
    expect(() => decodeBatch(body.subarray(0, body.byteLength - 8), want)).toThrow(/past the end|ends before/);
    expect(() => decodeBatch(join([body, new Uint8Array(8)]), want)).toThrow(/bytes after its 2 items/);
    expect(() => decodeBatch(body, [want[0]!, { dtype: 'int16', shape: [3] }])).toThrow();
  });

  it('requests are checked: keys, boxes, at least one item', () => {
    expect(PeerBatchRequest.safeParse({ items: [] }).success).toBe(false);
    expect(PeerBatchRequest.safeParse({ items: [{ key: 'nope' }] }).success).toBe(false);
    expect(PeerBatchRequest.safeParse({ items: [{ key: 'add-0123456789abcdef:0', region: { start: [-1], count: [1] } }] }).success).toBe(false);
    expect(PeerBatchRequest.safeParse({ items: [{ key: 'add-0123456789abcdef:0', region: { start: [0], count: [1] } }] }).success).toBe(true);
    expect(checkRegion({ start: [1, 0], count: [2, 3] }, [3, 3])).toBeUndefined();
    expect(checkRegion({ start: [2], count: [2] }, [3])).toMatch(/axis 0/);
    expect(parseRegion('1:2,0:3', [3, 3])).toEqual({ start: [1, 0], count: [2, 3] });
    expect(parseRegion('1:2', [3, 3])).toMatch(/1 axes, the chunk 2/);
  });
});
