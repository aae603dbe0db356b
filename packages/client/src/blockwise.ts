import { ShapeError, broadcastShapes, fmtShape } from '@tessera/protocol';
import type { ChunkedArray } from './array.js';
import { type Chunks, chunksEqual, unifyAxis } from './chunks.js';
import { rechunk } from './slicing.js';

/** Inputs of a blockwise op brought onto one block grid. */
export interface Aligned {
  shape: number[];
  chunks: Chunks;
  /** The inputs, rechunked where their boundaries differed from the common ones. */
  arrays: ChunkedArray[];
  /** Block index of input `k` that output block `index` reads (size-1 axes reuse block 0). */
  blockOf(k: number, index: readonly number[]): number[];
}

export function listShapes(shapes: readonly (readonly number[])[]): string {
  const s = shapes.map(fmtShape);
  return s.length <= 2 ? s.join(' and ') : `${s.slice(0, -1).join(', ')} and ${s[s.length - 1]}`;
}

/**
 * numpy broadcasting plus dask's unify_chunks: the output shape is the broadcast of the inputs,
 * each output axis is cut at every boundary any input has there, and inputs that lack some of
 * those boundaries are rechunked. An input axis of size 1 facing a longer axis is not cut: its
 * single block is read by every output block.
 */
export function align(fn: string, arrays: readonly ChunkedArray[]): Aligned {
  const shape = broadcastShapes(arrays.map((a) => a.shape));
  if (!shape) throw new ShapeError(`${fn}: shapes ${listShapes(arrays.map((a) => a.shape))} do not broadcast`);
  const rank = shape.length;
  const chunks: Chunks = shape.map((dim, ax) => {
    const lists = arrays.flatMap((a) => {
      const i = ax - (rank - a.ndim);
      return i >= 0 && a.shape[i] === dim ? [a.chunks[i]!] : [];
    });
    return unifyAxis(lists);
  });
  const aligned = arrays.map((a) => {
    const off = rank - a.ndim;
    const want = a.shape.map((d, i) => (d === shape[off + i] ? chunks[off + i]! : [d]));
    return chunksEqual(want, a.chunks) ? a : rechunk(a, want);
  });
  return {
    shape,
    chunks,
    arrays: aligned,
    blockOf(k, index) {
      const a = aligned[k]!;
      const off = rank - a.ndim;
      return a.shape.map((d, i) => (d === shape[off + i] ? index[off + i]! : 0));
    },
  };
}
