import { describe, expect, it } from 'vitest';
import { FileFormatError } from './errors.js';
import { decodeNpy, encodeNpy, parseNpyHeader } from './npy.js';

describe('.npy codec', () => {
  it('round trips every dtype, with the header padded to 64 bytes as numpy writes it', () => {
    const cases = [
      { dtype: 'float64', data: Float64Array.of(1.5, -0, NaN) },
      { dtype: 'int64', data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n) },
      { dtype: 'uint16', data: Uint16Array.of(0, 65535, 7) },
      { dtype: 'bool', data: Uint8Array.of(1, 0, 1) },
    ] as const;
    for (const c of cases) {
      const bytes = encodeNpy({ dtype: c.dtype, shape: [3], data: c.data });
      const h = parseNpyHeader(bytes);
      expect(h.dataOffset % 64).toBe(0);
      expect(new TextDecoder().decode(bytes.subarray(10, h.dataOffset)).trimEnd()).toMatch(/^\{'descr': '[<|][a-z]\d', 'fortran_order': False, 'shape': \(3,\), \}$/);
      const back = decodeNpy(bytes);
      expect([back.dtype, back.shape, Array.from(back.data as ArrayLike<number | bigint>)]).toEqual([c.dtype, [3], Array.from(c.data as ArrayLike<number | bigint>)]);
    }
  });

  it('reads versions 2.0 and 3.0 (4-byte header lengths) and refuses others by name', () => {
    const v1 = encodeNpy({ dtype: 'int32', shape: [2, 1], data: Int32Array.of(4, -5) });
    const headerLen = new DataView(v1.buffer).getUint16(8, true);
    for (const major of [2, 3]) {
      const v = new Uint8Array(v1.length + 2);
      v.set(v1.subarray(0, 8));
      v[6] = major;
      new DataView(v.buffer).setUint32(8, headerLen, true);
      v.set(v1.subarray(10), 12);
      const a = decodeNpy(v);
      expect([a.shape, Array.from(a.data as Int32Array)]).toEqual([[2, 1], [4, -5]]);
    }
    const bad = v1.slice();
    bad[6] = 9;
    expect(() => decodeNpy(bad, 'f.npy')).toThrow(/f\.npy: \.npy format version 9\.0/);
    expect(() => decodeNpy(v1.subarray(0, 20), 'f.npy')).toThrow(FileFormatError);
  });
});
