import { describe, expect, it } from 'vitest';
import { join } from './bytes.test-util.js';
import { encodeChunk } from './codec-stream.js';
import { FRAME_CHUNK, decodeFrames, encodeErrorFrame, encodeFrame, encodeRawFrame } from './gather.js';

describe('gather frames', () => {
  it('round-trip keys of any length with payloads 8-byte aligned, decoded without copying', () => {
    const keys = ['a-0123456789abcdef:0', 'elementwise-0123456789abcdef0123:1,2,3', 'x-0123456789abcdef:9'];
    const chunks = keys.map((_, i) => ({ dtype: 'float64' as const, shape: [i + 1], data: Float64Array.from({ length: i + 1 }, (_, j) => i * 10 + j) }));
    const bytes = join(keys.flatMap((k, i) => encodeFrame(k, FRAME_CHUNK, encodeChunk(chunks[i]!))));
    const frames = decodeFrames(bytes, keys);
    expect(frames.map((f) => f.key)).toEqual(keys);
    for (const [i, f] of frames.entries()) {
      expect([...f.chunk.data]).toEqual([...chunks[i]!.data]);
      expect(f.chunk.data.buffer).toBe(bytes.buffer);
    }
  });

  it('raw frames carry small chunks of every dtype and shape without Arrow; bad headers are refused', () => {
    const chunks = [
      { dtype: 'float64' as const, shape: [], data: Float64Array.of(42) },
      { dtype: 'int32' as const, shape: [2, 3], data: Int32Array.of(1, -2, 3, -4, 5, -6) },
      { dtype: 'uint8' as const, shape: [3], data: Uint8Array.of(7, 8, 9) },
      { dtype: 'float32' as const, shape: [0, 4], data: new Float32Array(0) },
    ];
    const keys = chunks.map((_, i) => `a-0123456789abcdef:${i}`);
    const bytes = join(keys.flatMap((k, i) => encodeRawFrame(k, chunks[i]!)));
    const back = decodeFrames(bytes, keys).map((f) => f.chunk);
    expect(back.map((c) => [c.dtype, c.shape, [...c.data]])).toEqual(chunks.map((c) => [c.dtype, c.shape, [...c.data]]));
    expect(back.every((c) => c.data.buffer === bytes.buffer)).toBe(true);
    const lying = join(encodeRawFrame(keys[1]!, { ...chunks[1]!, shape: [2, 4] }));
    expect(() => decodeFrames(lying, [keys[1]!])).toThrow(/24 bytes for int32 of shape \[2, 4\]/);
  });

  it('refuses truncated answers, frames out of order, missing frames; throws an error frame as its error', () => {
    const keys = ['a-0123456789abcdef:0', 'a-0123456789abcdef:1'];
    const parts = keys.map((k) => join(encodeRawFrame(k, { dtype: 'uint8', shape: [3], data: Uint8Array.of(1, 2, 3) })));
    const both = join(parts);
    expect(() => decodeFrames(both.subarray(0, both.byteLength - 9), keys)).toThrow(/truncated/);
    expect(() => decodeFrames(join([parts[1]!, parts[0]!]), keys)).toThrow(/expected "a-0123456789abcdef:0"/);
    expect(() => decodeFrames(parts[0]!, keys)).toThrow(/1 frames for 2 keys/);
    const err = join([parts[0]!, ...encodeErrorFrame(keys[1]!, { error: { code: 'CHUNK_LOST', name: 'ChunkLostError', message: 'gone', key: keys[1]! } })]);
    expect(() => decodeFrames(err, keys)).toThrow(expect.objectContaining({ code: 'CHUNK_LOST' }));
  });
});
