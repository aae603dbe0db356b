import type { ChunkData } from '@tessera/protocol';
import { gridIndices } from './chunks.js';

/**
 * Copy a box of `count` elements per axis from C-order `src` (of shape `srcShape`, box starting at
 * `srcStart`) into C-order `dst` (of `dstShape`, at `dstStart`), one contiguous run of the last
 * axis at a time. Both arrays must have the same element type.
 */
export function copyBox(
  src: ChunkData,
  srcShape: readonly number[],
  srcStart: readonly number[],
  dst: ChunkData,
  dstShape: readonly number[],
  dstStart: readonly number[],
  count: readonly number[],
): void {
  const rank = count.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  const strides = (shape: readonly number[]): number[] => {
    const s = new Array<number>(shape.length).fill(1);
    for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
    return s;
  };
  const ss = strides(srcShape);
  const ds = strides(dstShape);
  const run = count[rank - 1]!;
  if (run === 0) return;
  for (const idx of gridIndices(count.slice(0, -1))) {
    let so = srcStart[rank - 1]!;
    let dOff = dstStart[rank - 1]!;
    for (let ax = 0; ax < rank - 1; ax++) {
      so += (srcStart[ax]! + idx[ax]!) * ss[ax]!;
      dOff += (dstStart[ax]! + idx[ax]!) * ds[ax]!;
    }
    (dst as Float64Array).set((src as Float64Array).subarray(so, so + run), dOff);
  }
}
