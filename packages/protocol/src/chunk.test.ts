import { afterEach, describe, expect, it } from 'vitest';
import { allocChunk, setBufferSource } from './chunk.js';

describe('allocChunk on recycled buffers', () => {
  afterEach(() => setBufferSource(undefined));

  const recycle = (bytes: number): SharedArrayBuffer => {
    const b = new SharedArrayBuffer(bytes);
    new Uint8Array(b).fill(0xab);
    setBufferSource((n) => (n === bytes ? b : undefined));
    return b;
  };

  it('zeroes every byte of a reused buffer, a length that is not a multiple of 8 too', () => {
    for (const [dtype, n] of [['uint8', 13], ['int16', 7], ['float64', 5], ['complex64', 3]] as const) {
      const b = recycle(n * (dtype === 'uint8' ? 1 : dtype === 'int16' ? 2 : 8));
      const c = allocChunk(dtype, [n]);
      expect(c.data.buffer).toBe(b);
      expect(new Uint8Array(b).every((v) => v === 0), dtype).toBe(true);
    }
  });

  it('hands a reused buffer over as it is when the caller overwrites every element', () => {
    const b = recycle(24);
    const c = allocChunk('float64', [3], { overwrite: true });
    expect(c.data.buffer).toBe(b);
    expect(new Uint8Array(b).every((v) => v === 0xab)).toBe(true);
  });

  it('a fresh buffer is zeroed', () => {
    expect([...allocChunk('int32', [4]).data]).toEqual([0, 0, 0, 0]);
  });
});
